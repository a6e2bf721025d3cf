// Pull-based work distribution (audit_schedule.h). Wire format, int64 words on MPI_COMM of the
// world: request = [finished batch id or -1], then (with a finished id) the result bytes on
// kTagPayload; reply = [batch id, n, shard_0, row_0, ...] or [-1]. The leader sends the small
// request first, so a coordinator waiting for any leader's request never waits on a large
// payload whose rendezvous it has not posted (no deadlock with many leaders).
#include "fssl/audit_schedule.h"

#include <algorithm>
#include <limits>

#include "fssl/error.h"

namespace fssl {
namespace {

constexpr int kTagRequest = 101;
constexpr int kTagReply = 102;
constexpr int kTagPayload = 103;

}  // namespace

WorkQueue::WorkQueue(const AuditPlan& plan, const Manifest& manifest, std::uint64_t token_budget)
    : plan_(plan.messages), budget_(std::max<std::uint64_t>(token_budget, 1)) {
  for (const ShardEntry& s : manifest.shards) {
    const std::uint64_t tokens = s.n_prompt_tokens + s.n_output_tokens;
    shard_cost_.push_back(s.n_messages ? std::max<std::uint64_t>(1, tokens / s.n_messages) : 1);
  }
}

void WorkQueue::skip(const std::vector<std::uint64_t>& done_ids) {
  FSSL_CHECK(next_id_ == 0, CommError, "work queue: skip() after batches were cut");
  skip_ = done_ids;
  std::sort(skip_.begin(), skip_.end());
  skip_.erase(std::unique(skip_.begin(), skip_.end()), skip_.end());
}

std::optional<WorkBatch> WorkQueue::next() {
  while (!closed_ && position_ < plan_.size()) {
    WorkBatch batch = cut_batch();
    if (!std::binary_search(skip_.begin(), skip_.end(), batch.id)) return batch;
    done_.back() = true;
    ++completed_;
  }
  return std::nullopt;
}

WorkBatch WorkQueue::cut_batch() {
  WorkBatch batch{next_id_++, {}};
  std::uint64_t cost = 0;
  while (position_ < plan_.size()) {
    const MessageRef& ref = plan_[position_];
    const std::uint64_t c = ref.shard < shard_cost_.size() ? shard_cost_[ref.shard] : 1;
    if (!batch.messages.empty() && cost + c > budget_) break;
    batch.messages.push_back(ref);
    cost += c;
    ++position_;
  }
  done_.push_back(false);
  return batch;
}

void WorkQueue::complete(std::uint64_t id) {
  FSSL_CHECK(id < done_.size() && !done_[id], CommError, "work batch {} reported done but it is not outstanding", id);
  done_[id] = true;
  ++completed_;
}

void serve_work(const MpiComm& world, const AuditLayout& layout, WorkQueue& queue, const RequestHandler& on_request) {
  int leaders_left = layout.n_groups;
  while (leaders_left > 0) {
    std::int64_t finished = -1;
    MPI_Status status;
    FSSL_MPI_CHECK(MPI_Recv(&finished, 1, MPI_INT64_T, MPI_ANY_SOURCE, kTagRequest, world.get(), &status));
    const int leader = status.MPI_SOURCE;
    FSSL_CHECK(layout.is_leader(leader), CommError, "work request from rank {}, which leads no group", leader);
    std::optional<std::uint64_t> done;
    std::vector<std::uint8_t> payload;
    if (finished >= 0) {
      done = static_cast<std::uint64_t>(finished);
      MPI_Status payload_status;
      FSSL_MPI_CHECK(MPI_Probe(leader, kTagPayload, world.get(), &payload_status));
      int count = 0;
      FSSL_MPI_CHECK(MPI_Get_count(&payload_status, MPI_UINT8_T, &count));
      payload.resize(static_cast<std::size_t>(count));
      FSSL_MPI_CHECK(MPI_Recv(payload.data(), count, MPI_UINT8_T, leader, kTagPayload, world.get(), MPI_STATUS_IGNORE));
      queue.complete(*done);
    }
    if (on_request) on_request(leader, done, std::move(payload));
    std::vector<std::int64_t> reply{-1};
    if (std::optional<WorkBatch> batch = queue.next()) {
      reply = {static_cast<std::int64_t>(batch->id), static_cast<std::int64_t>(batch->messages.size())};
      for (const MessageRef& r : batch->messages) {
        reply.push_back(r.shard);
        reply.push_back(static_cast<std::int64_t>(r.row));
      }
    } else {
      --leaders_left;
    }
    FSSL_MPI_CHECK(MPI_Send(reply.data(), static_cast<int>(reply.size()), MPI_INT64_T, leader, kTagReply, world.get()));
  }
}

std::optional<WorkBatch> request_work(const MpiComm& world, std::optional<std::uint64_t> finished,
                                      const std::vector<std::uint8_t>& payload) {
  const std::int64_t report = finished ? static_cast<std::int64_t>(*finished) : -1;
  FSSL_MPI_CHECK(MPI_Send(&report, 1, MPI_INT64_T, 0, kTagRequest, world.get()));
  if (finished) {
    FSSL_CHECK(payload.size() <= static_cast<std::size_t>(std::numeric_limits<int>::max()), CommError,
               "results of batch {} are {} bytes, too large for one message: lower the token budget", *finished,
               payload.size());
    FSSL_MPI_CHECK(MPI_Send(payload.data(), static_cast<int>(payload.size()), MPI_UINT8_T, 0, kTagPayload, world.get()));
  }
  MPI_Status status;
  FSSL_MPI_CHECK(MPI_Probe(0, kTagReply, world.get(), &status));
  int count = 0;
  FSSL_MPI_CHECK(MPI_Get_count(&status, MPI_INT64_T, &count));
  std::vector<std::int64_t> reply(static_cast<std::size_t>(count));
  FSSL_MPI_CHECK(MPI_Recv(reply.data(), count, MPI_INT64_T, 0, kTagReply, world.get(), MPI_STATUS_IGNORE));
  FSSL_CHECK(count >= 1, CommError, "empty work reply from the coordinator");
  if (reply[0] < 0) return std::nullopt;
  FSSL_CHECK(count >= 2 && count == 2 + 2 * reply[1], CommError, "malformed work reply of {} words", count);
  WorkBatch batch{static_cast<std::uint64_t>(reply[0]), {}};
  for (std::int64_t i = 0; i < reply[1]; ++i) {
    batch.messages.push_back({static_cast<std::uint32_t>(reply[static_cast<std::size_t>(2 + 2 * i)]),
                              static_cast<std::uint64_t>(reply[static_cast<std::size_t>(3 + 2 * i)])});
  }
  return batch;
}

}  // namespace fssl
