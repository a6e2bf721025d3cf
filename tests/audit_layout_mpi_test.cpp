// Roles of the audit job (audit_layout.h) on real MPI ranks: rank 0 coordinates, the workers form
// groups of t consecutive ranks whose communicators hold exactly those ranks, and the rank map
// names every rank once. Bad rank counts are refused with a count that would work.
#include <gtest/gtest.h>

#include <mpi.h>

#include "fssl/audit_layout.h"
#include "fssl/error.h"

namespace fssl {
namespace {

TEST(AuditLayout, GroupsAreConsecutiveRanksWithTheirOwnCommunicators) {
  MpiComm world;
  const int w = world.world_size();
  for (int t = 1; t < w; ++t) {
    if ((w - 1) % t != 0) {
      EXPECT_THROW(audit_layout(w, t), ConfigError) << "t = " << t;
      continue;
    }
    const AuditLayout layout = audit_layout(w, t);
    EXPECT_EQ(layout.n_groups, (w - 1) / t);
    MpiComm group = audit_group_comm(world, layout);
    if (world.rank() == 0) {
      EXPECT_TRUE(layout.is_coordinator(0));
      EXPECT_EQ(group.world_size(), 1);
      continue;
    }
    // The group's members are exactly the consecutive world ranks from the leader on.
    EXPECT_EQ(group.world_size(), t);
    const int g = layout.group_of(world.rank());
    EXPECT_EQ(group.rank(), world.rank() - layout.leader_of(g));
    EXPECT_EQ(layout.is_leader(world.rank()), group.rank() == 0);
    int leader = group.rank() == 0 ? world.rank() : -1;
    FSSL_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &leader, 1, MPI_INT, MPI_MAX, group.get()));
    EXPECT_EQ(leader, layout.leader_of(g));
  }
}

TEST(AuditLayout, RankMapNamesEveryRankAndHost) {
  MpiComm world;
  const std::vector<std::string> hosts = gather_hostnames(world);
  ASSERT_EQ(static_cast<int>(hosts.size()), world.world_size());
  for (const std::string& h : hosts) EXPECT_FALSE(h.empty());
  const AuditLayout layout = audit_layout(world.world_size(), 1);
  const std::string map = audit_rank_map(layout, hosts);
  EXPECT_NE(map.find("coordinator"), std::string::npos);
  EXPECT_NE(map.find(hosts[0]), std::string::npos);
  for (int g = 0; g < layout.n_groups; ++g) EXPECT_NE(map.find("group " + std::to_string(g)), std::string::npos);
  if (world.rank() == 0) std::printf("%s", map.c_str());
}

TEST(AuditLayout, RefusesCountsThatDoNotSplit) {
  EXPECT_THROW(audit_layout(1, 1), ConfigError);
  EXPECT_THROW(audit_layout(4, 2), ConfigError);  // 3 workers in groups of 2
  EXPECT_THROW(audit_layout(5, 0), ConfigError);
  try {
    audit_layout(4, 2);
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("use 3 or 5 ranks"), std::string::npos) << e.what();
  }
  const AuditLayout l = audit_layout(5, 2);
  EXPECT_EQ(l.n_groups, 2);
  EXPECT_EQ(l.leader_of(1), 3);
  EXPECT_EQ(l.group_of(4), 1);
  EXPECT_TRUE(l.is_leader(3));
  EXPECT_FALSE(l.is_leader(4));
}

}  // namespace
}  // namespace fssl
