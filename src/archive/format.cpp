// Small helpers of archive/format.h.
#include "archive/format.h"

#include <fmt/format.h>

namespace fssl::archive_format {

std::string shard_file_name(std::int64_t index) { return fmt::format("shard-{:06d}.h5", index); }

std::string sampler_profile_name(const std::string& spec) { return spec.substr(0, spec.find(':')); }

}  // namespace fssl::archive_format
