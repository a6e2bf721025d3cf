// Move-only RAII owners for MPI: the environment (init/finalize) and duplicated communicators.
// Every MPI call goes through FSSL_MPI_CHECK, which throws CommError with the routine name and
// MPI_Error_string; fssl's communicators use MPI_ERRORS_RETURN so error codes reach the check.
// Threads: MPI is initialised FUNNELED; only the main thread of a rank calls MPI.
#pragma once

#include <mpi.h>

#include <string>

#include "fssl/error.h"

namespace fssl {

// "MPI_Allreduce: MPI_ERR_COMM: invalid communicator" style text of an MPI error code.
std::string mpi_error_string(int code);

}  // namespace fssl

#define FSSL_MPI_CHECK(call)                                                                          \
  do {                                                                                                \
    const int fssl_mpi_rc_ = (call);                                                                  \
    if (fssl_mpi_rc_ != MPI_SUCCESS) {                                                                \
      FSSL_THROW(::fssl::CommError, "{} failed: {}", #call, ::fssl::mpi_error_string(fssl_mpi_rc_)); \
    }                                                                                                 \
  } while (0)

namespace fssl {

// Initialises MPI (FUNNELED) in the constructor unless already initialised, and finalises in the
// destructor, except while an exception is escaping: then MPI is left up for the catcher (main)
// to log the error and abort() the job, so no rank hangs in a collective and no error is lost.
// Construct once in main (or the MPI test main), before any other MPI object.
class MpiEnvironment {
 public:
  MpiEnvironment(int* argc, char*** argv);
  ~MpiEnvironment();
  MpiEnvironment(const MpiEnvironment&) = delete;
  MpiEnvironment& operator=(const MpiEnvironment&) = delete;

  // Aborts every rank of MPI_COMM_WORLD with `exit_code` (used by main's catch blocks).
  static void abort(int exit_code) noexcept;
  static bool initialized() noexcept;

 private:
  bool owns_ = false;
  int uncaught_at_start_ = 0;
};

// Owns an MPI_Comm_dup of a communicator (errors return instead of aborting), caching rank, size
// and the node-local rank/size. Move-only; frees the communicator only if MPI is not finalised.
class MpiComm {
 public:
  // Collective over `parent`: all of its ranks must call.
  explicit MpiComm(MPI_Comm parent = MPI_COMM_WORLD);
  ~MpiComm();
  MpiComm(MpiComm&& other) noexcept;
  MpiComm& operator=(MpiComm&& other) noexcept;
  MpiComm(const MpiComm&) = delete;
  MpiComm& operator=(const MpiComm&) = delete;

  MPI_Comm get() const { return comm_; }
  int rank() const { return rank_; }
  int world_size() const { return world_size_; }
  int local_rank() const { return local_rank_; }  // rank among the ranks of this node
  int local_size() const { return local_size_; }
  // Collective: splits into sub-communicators by `color`, ordered by `key`.
  MpiComm split(int color, int key) const;
  // Collective: logical AND of `value` over all ranks.
  bool all_true(bool value) const;

 private:
  struct Adopt {};
  MpiComm(MPI_Comm owned, Adopt);
  void cache_ranks();
  void reset() noexcept;

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, world_size_ = 1, local_rank_ = 0, local_size_ = 1;
};

}  // namespace fssl
