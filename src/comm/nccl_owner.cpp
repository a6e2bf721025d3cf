// NcclComm (comm/nccl_owner.h).
#include "comm/nccl_owner.h"

#include "fssl/log.h"

namespace fssl {

NcclComm::NcclComm(const MpiComm& mpi) : rank_(mpi.rank()), world_size_(mpi.world_size()) {
  ncclUniqueId id{};
  if (mpi.rank() == 0) FSSL_NCCL_CHECK(ncclGetUniqueId(&id));
  FSSL_MPI_CHECK(MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, mpi.get()));
  FSSL_NCCL_CHECK(ncclCommInitRank(&comm_, world_size_, id, rank_));
}

NcclComm::~NcclComm() {
  if (comm_ == nullptr) return;
  FSSL_LOG_WARN("NCCL communicator (rank {}) not destroyed explicitly: aborting it", rank_);
  ncclCommAbort(comm_);
}

void NcclComm::destroy() {
  if (comm_ == nullptr) return;
  ncclComm_t comm = comm_;
  comm_ = nullptr;
  FSSL_NCCL_CHECK(ncclCommDestroy(comm));
}

}  // namespace fssl
