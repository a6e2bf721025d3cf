// The worker groups' loop (audit/setup.h): the leader asks for a batch, reads its records,
// checks each against its stored digest, broadcasts the readable ones to its tensor-parallel
// ranks; the group replays them by one packed prefill and scores every token; the leader sends
// its BatchReport (results.h) with its next request. On --device cuda each rank binds its GPU and
// the group's model and all-reduces live there.
#include <chrono>
#include <map>
#include <thread>
#include <variant>

#include "fssl/worker.h"
#include "fssl/archive.h"
#include "fssl/audit_schedule.h"
#include "fssl/audit_transfer.h"
#include "fssl/gpu.h"
#include "fssl/log.h"
#include "fssl/verify.h"

namespace fssl {
namespace {

// Empty if `record` matches the digest stored for its row, else why not. The digest chain binds
// every field of a record: a changed token, seed or parameter shows here even when the shard
// still opens (a full chain and HMAC check is `fssl archive validate`'s job).
std::string integrity_problem(const ShardReader& shard, std::uint64_t row, const LogRecord& record) {
  const Digest32 prev = row == 0 ? shard.chain_genesis() : shard.stored_digest(row - 1);
  if (digest_equal(record_digest(prev, record), shard.stored_digest(row))) return "";
  return kTamperedRecordReason;
}

// One message of a batch on the leader after the read: the record to replay, or the result it
// already has (unverifiable or quarantined, with the reason), never both.
using ReadMessage = std::variant<LogRecord, MessageResult>;

// The leader's read of one batch: per shard one batched read; a shard that cannot be opened is
// quarantined for this batch (the coordinator names it once in the summary).
std::vector<ReadMessage> read_batch(ArchiveReader& archive, const std::vector<MessageRef>& refs,
                                    const AuditOptions& options, const std::string& fingerprint) {
  std::vector<ReadMessage> out(refs.size());
  std::map<std::uint32_t, std::vector<std::size_t>> by_shard;
  for (std::size_t i = 0; i < refs.size(); ++i) by_shard[refs[i].shard].push_back(i);
  for (const auto& [shard_index, positions] : by_shard) {
    const std::string file = shard_index < archive.manifest().shards.size()
                                 ? archive.manifest().shards[shard_index].file
                                 : std::to_string(shard_index);
    try {
      const ShardReader& shard = archive.shard(shard_index);
      std::vector<std::uint64_t> rows;
      for (std::size_t i : positions) rows.push_back(refs[i].row);
      std::vector<RowRead> read = shard.read_rows(rows);
      for (std::size_t k = 0; k < positions.size(); ++k) {
        const std::size_t i = positions[k];
        std::string problem;
        LogRecord record;
        if (auto* p = std::get_if<RecordProblem>(&read[k])) {
          problem = std::move(p->reason);
        } else {
          record = std::move(std::get<LogRecord>(read[k]));
          problem = integrity_problem(shard, rows[k], record);
        }
        if (problem.empty() && !options.force_model && !record.model.fingerprint.empty() &&
            record.model.fingerprint != fingerprint) {
          problem = "logged with model fingerprint " + record.model.fingerprint.substr(0, 16) +
                    "..., not the audited model's (--force-model to audit anyway)";
        }
        if (problem.empty()) {
          out[i] = std::move(record);
        } else {
          out[i] = message_not_scored(refs[i], record, MessageStatus::kUnverifiable,
                                      shard.row_context(rows[k]) + ": " + problem);
        }
      }
    } catch (const ArchiveError& e) {
      for (std::size_t i : positions) {
        out[i] = message_not_scored(refs[i], LogRecord{}, MessageStatus::kQuarantined,
                                               std::string("shard ") + file + " unreadable: " + e.what());
      }
    }
  }
  return out;
}

}  // namespace

void run_worker(const MpiComm& world, const MpiComm& group, const AuditOptions& o, const std::string& fingerprint) {
  ModelOptions model_options;
  model_options.compute_dtype = o.dtype == "bf16" ? at::kBFloat16 : at::kFloat;
  if (o.device == "cuda") {
    model_options.device = bind_local_gpu(local_rank_hint(&world));
    model_options.compute_dtype = at::kBFloat16;
  }
  // Ranks share a node's cores; more intra-op threads than cores per rank only thrash. (On CUDA
  // the CPU scores only for tensor-parallel groups; one-GPU groups score on the device.)
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  model_options.n_threads = o.n_threads > 0 ? o.n_threads : std::max(1, cores / std::max(1, world.local_size()));
  std::unique_ptr<Communicator> comm = comm_for_device(group, model_options.device);
  Model model = Model::load(o.model_dir, *comm, model_options);
  FSSL_LOG_DEBUG("worker rank {}: model on {}, group of {}", world.rank(), device_describe(model_options.device),
                 group.world_size());
  run_worker_group(world, group, model, o, fingerprint);
}

void run_worker_group(const MpiComm& world, const MpiComm& group, Model& model, const AuditOptions& options,
                      const std::string& fingerprint) {
  const bool leader = group.rank() == 0;
  std::optional<ArchiveReader> archive;
  if (leader) archive = ArchiveReader::open(options.archive_dir);
  std::optional<std::uint64_t> finished;
  std::vector<std::uint8_t> payload;
  for (;;) {
    std::optional<WorkBatch> batch;
    if (leader) batch = request_work(world, finished, payload);
    std::int64_t more = batch ? 1 : 0;
    FSSL_MPI_CHECK(MPI_Bcast(&more, 1, MPI_INT64_T, 0, group.get()));
    if (more == 0) return;
    const auto start = std::chrono::steady_clock::now();
    std::vector<ReadMessage> read;
    std::vector<LogRecord> to_replay;
    std::vector<std::size_t> positions;  // batch position of each replayed record
    if (leader) {
      read = read_batch(*archive, batch->messages, options, fingerprint);
      for (std::size_t i = 0; i < read.size(); ++i) {
        if (LogRecord* record = std::get_if<LogRecord>(&read[i])) {
          to_replay.push_back(std::move(*record));
          positions.push_back(i);
        }
      }
    }
    to_replay = broadcast_records(group, to_replay);
    // One packed prefill on the model's device; each logit chunk is scored there by the fused
    // kernels when the group is one GPU, else on the CPU (replay/verify.cpp).
    const std::vector<MessageScores> scores = verify_messages(model, to_replay, options.score, options.ipt);
    if (!leader) continue;
    BatchReport report;
    report.batch_id = batch->id;
    report.results.resize(read.size());
    for (std::size_t i = 0; i < read.size(); ++i) {
      if (MessageResult* done = std::get_if<MessageResult>(&read[i])) report.results[i] = std::move(*done);
    }
    for (std::size_t k = 0; k < positions.size(); ++k) {
      report.results[positions[k]] = message_result(batch->messages[positions[k]], to_replay[k], scores[k]);
    }
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    payload = batch_report_encode(report);
    finished = batch->id;
  }
}

}  // namespace fssl
