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

/// CPU time (seconds, summed over every core) the whole machine spent busy so far: user,
/// nice, system, irq, softirq and steal of /proc/stat. 0 when it cannot be read.
double machine_busy_seconds();

}  // namespace orderflow::bench
