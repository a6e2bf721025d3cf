// Pull-based work distribution of the audit job: the coordinator cuts the plan into batches by a
// token budget (so long messages do not starve the queue and short ones do not flood the
// network), and each group leader asks for the next batch when its group is idle, reporting the
// batch it finished with the same message. Batches are cut in plan order and do not depend on
// timing; which leader gets which batch does, so results must not depend on it (the reduction's
// job).
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "fssl/archive.h"
#include "fssl/audit_layout.h"
#include "fssl/audit_plan.h"

namespace fssl {

struct WorkBatch {
  std::uint64_t id = 0;                // 0, 1, 2, ... in plan order
  std::vector<MessageRef> messages;
};

// The coordinator's queue. A message's cost is its shard's mean prompt + output tokens (the
// manifest's totals): the coordinator never reads records. A batch holds at least one message and
// otherwise at most `token_budget` estimated tokens. Not thread-safe; the coordinator owns it.
class WorkQueue {
 public:
  WorkQueue(const AuditPlan& plan, const Manifest& manifest, std::uint64_t token_budget);

  // Batches a resumed audit already has (from its journal): next() cuts them as before, so batch
  // ids and contents never depend on the resume, but counts them completed instead of handing
  // them out. Call before the first next().
  void skip(const std::vector<std::uint64_t>& done_ids);
  // Stop handing out work (checkpoint requested, deadline near): next() returns none from now on.
  void close() { closed_ = true; }

  std::optional<WorkBatch> next();           // the next batch, or none left to hand out
  void complete(std::uint64_t id);           // CommError for an id not handed out or completed twice
  std::uint64_t cut() const { return next_id_; }
  std::uint64_t completed() const { return completed_; }
  std::uint64_t outstanding() const { return next_id_ - completed_; }
  bool finished() const { return position_ == plan_.size() && completed_ == next_id_; }

 private:
  std::vector<MessageRef> plan_;
  std::vector<std::uint64_t> shard_cost_;
  std::uint64_t budget_;
  std::size_t position_ = 0;
  std::uint64_t next_id_ = 0, completed_ = 0;
  std::vector<bool> done_;
  std::vector<std::uint64_t> skip_;  // sorted
  bool closed_ = false;

  WorkBatch cut_batch();
};

// Coordinator (rank 0), collective with every leader's request_work loop: answers requests until
// every leader has been told there is no more work. For each request, before answering it, calls
// on_request(leader, finished, payload): finished is the batch the leader reports done (none on
// its first request) and payload the bytes it sent with the report; the callback may close() the
// queue (checkpoint, deadline), and that request is then answered "no more work".
using RequestHandler =
    std::function<void(int leader, std::optional<std::uint64_t> finished, std::vector<std::uint8_t> payload)>;
void serve_work(const MpiComm& world, const AuditLayout& layout, WorkQueue& queue, const RequestHandler& on_request = {});

// Group leader: reports `finished` (the id of the batch it just completed, if any) with its
// result bytes, and asks for the next batch; none means the audit has no more work for this leader.
std::optional<WorkBatch> request_work(const MpiComm& world, std::optional<std::uint64_t> finished,
                                      const std::vector<std::uint8_t>& payload = {});

}  // namespace fssl
