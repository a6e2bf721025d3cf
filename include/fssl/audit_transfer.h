// Moving audit work inside a worker group: the leader reads a batch's records from the shards and
// broadcasts them so every tensor-parallel rank replays the same tokens (only leaders touch the
// file system). Records travel as CBOR (nlohmann::json::to_cbor): self-describing, compact for
// the token arrays, and checked on decode.
#pragma once
#include <cstdint>
#include <vector>

#include "fssl/archive.h"
#include "fssl/mpi.h"

namespace fssl {

// The records as bytes and back. record_from_bytes throws CommError on malformed input.
std::vector<std::uint8_t> records_to_bytes(const std::vector<LogRecord>& records);
std::vector<LogRecord> records_from_bytes(const std::vector<std::uint8_t>& bytes);

// Collective over `group`: `root` passes the records, every rank returns them.
std::vector<LogRecord> broadcast_records(const MpiComm& group, const std::vector<LogRecord>& records, int root = 0);

}  // namespace fssl
