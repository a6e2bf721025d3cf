// MpiEnvironment and MpiComm (mpi.h).
#include "fssl/mpi.h"

#include <exception>

#include "fssl/log.h"

namespace fssl {

std::string mpi_error_string(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) return fmt::format("MPI error {}", code);
  return std::string(text, static_cast<std::size_t>(length));
}

MpiEnvironment::MpiEnvironment(int* argc, char*** argv) : uncaught_at_start_(std::uncaught_exceptions()) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized == 0) {
    int provided = 0;
    FSSL_MPI_CHECK(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided));
    owns_ = true;
    FSSL_CHECK(provided >= MPI_THREAD_FUNNELED, CommError, "MPI provides thread level {}, FUNNELED needed", provided);
  }
  int rank = 0, world_size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world_size);
  log_set_rank(rank, world_size);
}

MpiEnvironment::~MpiEnvironment() {
  if (!owns_) return;
  // Unwinding: finalizing could wait forever on a rank stuck in a collective, and aborting here
  // would kill the process before main logs the error. Leave MPI up; main logs, then aborts.
  if (std::uncaught_exceptions() > uncaught_at_start_) return;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized == 0) MPI_Finalize();
}

void MpiEnvironment::abort(int exit_code) noexcept {
  if (initialized()) MPI_Abort(MPI_COMM_WORLD, exit_code);
}

bool MpiEnvironment::initialized() noexcept {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  return initialized != 0 && finalized == 0;
}

MpiComm::MpiComm(MPI_Comm parent) {
  FSSL_MPI_CHECK(MPI_Comm_dup(parent, &comm_));
  cache_ranks();
}

MpiComm::MpiComm(MPI_Comm owned, Adopt) : comm_(owned) { cache_ranks(); }

void MpiComm::cache_ranks() {
  FSSL_MPI_CHECK(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN));
  FSSL_MPI_CHECK(MPI_Comm_rank(comm_, &rank_));
  FSSL_MPI_CHECK(MPI_Comm_size(comm_, &world_size_));
  MPI_Comm node = MPI_COMM_NULL;
  FSSL_MPI_CHECK(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node));
  MPI_Comm_rank(node, &local_rank_);
  MPI_Comm_size(node, &local_size_);
  MPI_Comm_free(&node);
}

MpiComm::~MpiComm() { reset(); }

MpiComm::MpiComm(MpiComm&& other) noexcept
    : comm_(other.comm_), rank_(other.rank_), world_size_(other.world_size_), local_rank_(other.local_rank_),
      local_size_(other.local_size_) {
  other.comm_ = MPI_COMM_NULL;
}

MpiComm& MpiComm::operator=(MpiComm&& other) noexcept {
  if (this != &other) {
    reset();
    comm_ = other.comm_;
    rank_ = other.rank_;
    world_size_ = other.world_size_;
    local_rank_ = other.local_rank_;
    local_size_ = other.local_size_;
    other.comm_ = MPI_COMM_NULL;
  }
  return *this;
}

void MpiComm::reset() noexcept {
  if (comm_ == MPI_COMM_NULL) return;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized == 0) MPI_Comm_free(&comm_);
  comm_ = MPI_COMM_NULL;
}

MpiComm MpiComm::split(int color, int key) const {
  MPI_Comm out = MPI_COMM_NULL;
  FSSL_MPI_CHECK(MPI_Comm_split(comm_, color, key, &out));
  return MpiComm(out, Adopt{});
}

bool MpiComm::all_true(bool value) const {
  int local = value ? 1 : 0, global = 0;
  FSSL_MPI_CHECK(MPI_Allreduce(&local, &global, 1, MPI_INT, MPI_LAND, comm_));
  return global != 0;
}

}  // namespace fssl
