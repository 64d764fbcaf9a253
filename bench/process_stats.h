#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace orderflow::bench {

/// One reading of /proc/<pid>: resident memory now and at its peak, and CPU time so far.
struct ProcessSample {
  std::int64_t rss_kib = 0;       ///< VmRSS
  std::int64_t peak_rss_kib = 0;  ///< VmHWM
  double cpu_s = 0;               ///< utime + stime, seconds
};

/// nullopt when the process is gone.
std::optional<ProcessSample> sample_process(pid_t pid);

/// One reading of a process and its children together (a PostgreSQL postmaster and its
/// backends and background workers): CPU of all of them plus what exited children used (the
/// parent's cutime/cstime, so the figure only grows while children come and go); memory as
/// the sum of their PSS (smaps_rollup: shared buffers counted once, not in every backend),
/// in both rss_kib and peak_rss_kib (there is no peak of a group). nullopt when `pid` is gone.
std::optional<ProcessSample> sample_process_tree(pid_t pid);

/// CPU time (seconds, summed over every core) the whole machine spent busy so far: user,
/// nice, system, irq, softirq and steal of /proc/stat. 0 when it cannot be read.
double machine_busy_seconds();

}  // namespace orderflow::bench
