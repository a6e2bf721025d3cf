// Who does what in an audit job: rank 0 is the coordinator (CPU only: plans, hands out work,
// reduces); ranks 1 .. W-1 form G = (W - 1) / t worker groups of t consecutive ranks, each one
// tensor-parallel model replica; a group's first rank is its leader (asks for work, reads its
// messages, returns results). Consecutive ranks keep a group on one node under the usual
// block rank placement (mpirun --map-by slot, Slurm's default block distribution).
#pragma once
#include <string>
#include <vector>

#include "fssl/mpi.h"

namespace fssl {

struct AuditLayout {
  int world_size = 0;
  int tp_size = 1;
  int n_groups = 0;

  bool is_coordinator(int rank) const { return rank == 0; }
  int group_of(int rank) const { return rank == 0 ? -1 : (rank - 1) / tp_size; }  // -1: coordinator
  int leader_of(int group) const { return 1 + group * tp_size; }
  bool is_leader(int rank) const { return rank != 0 && (rank - 1) % tp_size == 0; }
};

// ConfigError unless world_size >= 2, tp_size >= 1 and tp_size divides world_size - 1 (the
// message names a valid rank count).
AuditLayout audit_layout(int world_size, int tp_size);

// Collective over `world`: this rank's group communicator (ordered by world rank); the
// coordinator gets a communicator of itself alone.
MpiComm audit_group_comm(const MpiComm& world, const AuditLayout& layout);

// Collective over `world`: every rank's processor name, in rank order, on every rank.
std::vector<std::string> gather_hostnames(const MpiComm& world);

// The rank map printed at start: one line for the coordinator, one per group (its ranks, leader
// and hosts), each starting with "# ".
std::string audit_rank_map(const AuditLayout& layout, const std::vector<std::string>& hostnames);

}  // namespace fssl
