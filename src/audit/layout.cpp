// Roles of the audit job's ranks (audit_layout.h).
#include "fssl/audit_layout.h"

#include <fmt/format.h>

#include <cstring>
#include <set>

#include "fssl/error.h"

namespace fssl {

AuditLayout audit_layout(int world_size, int tp_size) {
  FSSL_CHECK(world_size >= 2, ConfigError,
             "audit: {} rank(s): the audit needs a coordinator (rank 0) and at least one worker group", world_size);
  FSSL_CHECK(tp_size >= 1, ConfigError, "audit: tensor-parallel size {} must be >= 1", tp_size);
  FSSL_CHECK((world_size - 1) % tp_size == 0, ConfigError,
             "audit: {} ranks = 1 coordinator + {} workers, not a multiple of the tensor-parallel size {} "
             "(use {} or {} ranks)",
             world_size, world_size - 1, tp_size, 1 + (world_size - 1) / tp_size * tp_size,
             1 + ((world_size - 1) / tp_size + 1) * tp_size);
  return AuditLayout{world_size, tp_size, (world_size - 1) / tp_size};
}

MpiComm audit_group_comm(const MpiComm& world, const AuditLayout& layout) {
  const int group = layout.group_of(world.rank());
  // The coordinator's color is its own (no worker uses it): it ends up alone.
  return world.split(group < 0 ? layout.n_groups : group, world.rank());
}

std::vector<std::string> gather_hostnames(const MpiComm& world) {
  char name[MPI_MAX_PROCESSOR_NAME] = {};
  int length = 0;
  FSSL_MPI_CHECK(MPI_Get_processor_name(name, &length));
  std::vector<char> all(static_cast<std::size_t>(MPI_MAX_PROCESSOR_NAME) * static_cast<std::size_t>(world.world_size()));
  FSSL_MPI_CHECK(MPI_Allgather(name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, all.data(), MPI_MAX_PROCESSOR_NAME, MPI_CHAR,
                               world.get()));
  std::vector<std::string> out;
  for (int r = 0; r < world.world_size(); ++r) {
    const char* p = all.data() + static_cast<std::size_t>(r) * MPI_MAX_PROCESSOR_NAME;
    out.emplace_back(p, strnlen(p, MPI_MAX_PROCESSOR_NAME));
  }
  return out;
}

std::string audit_rank_map(const AuditLayout& layout, const std::vector<std::string>& hostnames) {
  auto host = [&](int rank) {
    return rank < static_cast<int>(hostnames.size()) ? hostnames[static_cast<std::size_t>(rank)] : std::string("?");
  };
  std::string out = fmt::format("# rank map: {} ranks = coordinator + {} group(s) x TP {}\n", layout.world_size,
                                layout.n_groups, layout.tp_size);
  out += fmt::format("#   rank 0            coordinator   {}\n", host(0));
  for (int g = 0; g < layout.n_groups; ++g) {
    const int first = layout.leader_of(g), last = first + layout.tp_size - 1;
    std::set<std::string> hosts;
    for (int r = first; r <= last; ++r) hosts.insert(host(r));
    std::string host_list;
    for (const std::string& h : hosts) host_list += (host_list.empty() ? "" : ",") + h;
    out += fmt::format("#   ranks {:>3}-{:<3}     group {:<3}     leader {}, {}\n", first, last, g, first, host_list);
  }
  return out;
}

}  // namespace fssl
