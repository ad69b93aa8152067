#include "mscred/daemon/capacity.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>

namespace mscred::daemon {

namespace {

std::string fixed(double v, int digits = 1) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

}  // namespace

CapacityMeasurement measure_capacity(StepScorer& scorer, size_t batch, int reps) {
  if (batch == 0 || reps < 1) throw std::invalid_argument("measure_capacity: batch and reps >= 1");
  const size_t floats = scorer.info().window_floats;
  const auto history = static_cast<size_t>(std::max(scorer.info().history, 1));
  // stream_cache() implies history >= 2: DetectorScorer keeps the cache only when the network
  // reads >= 2 steps, and those are at most the checkpoint's (validated) history.
  const bool streaming = scorer.stream_cache() && floats % history == 0;
  // Deterministic, not constant (a constant input could take a shortcut in some kernel).
  auto pattern = [](size_t i) { return static_cast<float>((i * 2654435761u) % 1000u) / 1000.0f; };

  using Clock = std::chrono::steady_clock;
  std::vector<double> seconds;
  if (!streaming) {
    std::vector<float> windows(batch * floats);
    for (size_t i = 0; i < windows.size(); ++i)
      windows[i] = pattern(i);
    scorer.score(windows.data(), batch);  // warm-up: first-call allocations, kernel choice
    for (int r = 0; r < reps; ++r) {
      auto t0 = Clock::now();
      scorer.score(windows.data(), batch);
      seconds.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    }
  } else {
    // Entity b's steps are a stream; call c sends window c (its steps c .. c+h-1). Call 0
    // fills the cache (misses), call 1 warms the per-step path, calls 2.. are timed.
    const size_t step_floats = floats / history;
    const size_t length = history + 1 + static_cast<size_t>(reps);
    std::vector<float> steps(batch * length * step_floats);
    for (size_t i = 0; i < steps.size(); ++i)
      steps[i] = pattern(i);
    std::vector<uint64_t> ids(batch);
    for (size_t b = 0; b < batch; ++b)
      ids[b] = kCapacityStreamIdBase + b;
    std::vector<float> windows(batch * floats);
    for (size_t c = 0; c < 2 + static_cast<size_t>(reps); ++c) {
      for (size_t b = 0; b < batch; ++b) {
        const float* src = steps.data() + (b * length + c) * step_floats;
        std::copy(src, src + floats, windows.data() + b * floats);
      }
      auto t0 = Clock::now();
      scorer.score_streams(windows.data(), batch, ids.data());
      if (c >= 2) seconds.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    }
    for (auto id : ids)
      scorer.forget_stream(id);
  }
  std::sort(seconds.begin(), seconds.end());
  CapacityMeasurement m;
  m.batch = batch;
  m.reps = reps;
  m.streaming = streaming;
  m.median_batch_s = seconds[seconds.size() / 2];
  // A scorer faster than the clock's resolution is, for this purpose, unbounded.
  m.steps_per_s = static_cast<double>(batch) / std::max(m.median_batch_s, 1e-9);
  return m;
}

double CapacityDemand::required_steps_per_s() const {
  return static_cast<double>(entities) * samples_per_s / std::max(step, 1);
}

CapacityVerdict check_capacity(const std::vector<CapacityDemand>& demands, double headroom) {
  CapacityVerdict v;
  std::string per_model;
  for (const auto& d : demands) {
    const double required = d.required_steps_per_s();
    const double share = required * headroom / d.measured.steps_per_s;
    v.utilisation += share;
    const std::string line =
        "model '" + d.model + "': measured " + fixed(d.measured.steps_per_s) + " steps/s (batch " +
        std::to_string(d.measured.batch) +
        (d.measured.streaming ? ", streaming with the cache" : "") + ", median " +
        fixed(d.measured.median_batch_s * 1e3, 2) + " ms per batch), required " + fixed(required) +
        " steps/s (" + std::to_string(d.entities) + " entities x " + fixed(d.samples_per_s, 3) +
        " samples/s / step " + std::to_string(d.step) + ") x headroom " + fixed(headroom, 2) +
        " = " + fixed(required * headroom) + " steps/s";
    if (share > 1.0) {
      v.ok = false;
      v.message += (v.message.empty() ? "" : "; ") + line;
    }
    per_model += (per_model.empty() ? "" : "; ") + line;
  }
  if (v.ok && v.utilisation > 1.0) {
    // Each model keeps up alone, but they share the one worker thread.
    v.ok = false;
    v.message = "the models together need " + fixed(v.utilisation * 100.0, 0) +
                " % of the worker thread: " + per_model;
  }
  if (!v.ok) {
    v.message +=
        ". To fix: lower models[].expected_entities or models[].samples_per_s to the "
        "real load, raise worker.max_batch or worker.threads, use a GPU (worker.device), "
        "a model with fewer sensors, or split the entities over several mscredd; "
        "worker.capacity_check: warn starts anyway";
  }
  return v;
}

}  // namespace mscred::daemon
