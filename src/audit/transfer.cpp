// Records between the ranks of a worker group (audit_transfer.h).
#include "fssl/audit_transfer.h"

#include <nlohmann/json.hpp>

#include <limits>

#include "fssl/error.h"
#include "fssl/record_json.h"

namespace fssl {

std::vector<std::uint8_t> records_to_bytes(const std::vector<LogRecord>& records) {
  nlohmann::json all = nlohmann::json::array();
  for (const LogRecord& r : records) {
    all.push_back({{"id", r.message_id},
                   {"ts", r.timestamp_us},
                   {"seed", r.seed},
                   {"sampler", {r.sampler.profile, r.sampler.temperature, r.sampler.top_k, r.sampler.top_p, r.sampler.min_p}},
                   {"model", {r.model.name, r.model.fingerprint, r.model.vocab_size, r.model.tokenizer}},
                   {"server", r.server},
                   {"processors", processors_to_json(r.sampler.processors)},
                   {"engine", engine_tag_to_json(r.engine)},
                   {"prompt", r.prompt},
                   {"output", r.output}});
  }
  return nlohmann::json::to_cbor(all);
}

std::vector<LogRecord> records_from_bytes(const std::vector<std::uint8_t>& bytes) {
  std::vector<LogRecord> out;
  try {
    for (const nlohmann::json& j : nlohmann::json::from_cbor(bytes)) {
      LogRecord r;
      r.message_id = j.at("id").get<std::uint64_t>();
      r.timestamp_us = j.at("ts").get<std::int64_t>();
      r.seed = j.at("seed").get<std::uint64_t>();
      const nlohmann::json& s = j.at("sampler");
      r.sampler = {s.at(0).get<std::string>(), s.at(1).get<float>(), s.at(2).get<std::int32_t>(), s.at(3).get<float>(),
                   s.at(4).get<float>(), {}};
      processors_from_json(j.at("processors"), {}, &r.sampler.processors);
      r.engine = engine_tag_from_json(j.at("engine"));
      const nlohmann::json& m = j.at("model");
      r.model = {m.at(0).get<std::string>(), m.at(1).get<std::string>(), m.at(2).get<std::uint32_t>(),
                 m.at(3).get<std::string>()};
      r.server = j.at("server").get<std::string>();
      r.prompt = j.at("prompt").get<std::vector<std::int32_t>>();
      r.output = j.at("output").get<std::vector<std::int32_t>>();
      out.push_back(std::move(r));
    }
  } catch (const nlohmann::json::exception& e) {
    FSSL_THROW(CommError, "malformed record transfer of {} bytes: {}", bytes.size(), e.what());
  } catch (const ProcessorsJsonError& e) {
    FSSL_THROW(CommError, "malformed record transfer of {} bytes: {}", bytes.size(), e.what());
  }
  return out;
}

std::vector<LogRecord> broadcast_records(const MpiComm& group, const std::vector<LogRecord>& records, int root) {
  std::vector<std::uint8_t> bytes;
  if (group.rank() == root) bytes = records_to_bytes(records);
  std::uint64_t size = bytes.size();
  FSSL_MPI_CHECK(MPI_Bcast(&size, 1, MPI_UINT64_T, root, group.get()));
  FSSL_CHECK(size <= static_cast<std::uint64_t>(std::numeric_limits<int>::max()), CommError,
             "record batch of {} bytes is too large for one broadcast: lower the token budget", size);
  bytes.resize(size);
  FSSL_MPI_CHECK(MPI_Bcast(bytes.data(), static_cast<int>(size), MPI_UINT8_T, root, group.get()));
  return group.rank() == root ? records : records_from_bytes(bytes);
}

}  // namespace fssl
