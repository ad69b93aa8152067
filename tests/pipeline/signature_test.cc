// SignatureState: incremental signature matrices against the from-scratch definition.
#include "mscred/pipeline/signature.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <limits>
#include <new>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

// Counts allocations made by this thread while armed, to check that push() allocates
// nothing. Replacing the global operator new is program-wide; it only counts. GCC cannot
// see that the replaced new and delete pair malloc with free, hence the pragma.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
namespace {
thread_local bool g_count_allocations = false;
thread_local std::size_t g_allocations = 0;
}  // namespace

void* operator new(std::size_t size) {
  if (g_count_allocations) ++g_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  return operator new(size);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
// The nothrow forms too, so that every plain new/delete pair goes through malloc/free
// (std::get_temporary_buffer uses them; under ASan a mixed pair is reported).
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  if (g_count_allocations) ++g_allocations;
  return std::malloc(size == 0 ? 1 : size);
}
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept {
  return operator new(size, tag);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}

namespace mscred::pipeline {
namespace {

// The definition, written out with no shared code: out[i][j] = (1/w) sum_d x_i x_j.
std::vector<double> naive(const std::vector<double>& rows, std::size_t n, std::size_t end, int w) {
  std::vector<double> out(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      double s = 0.0;
      for (int d = 0; d < w; ++d) {
        const std::size_t r = end - 1 - static_cast<std::size_t>(d);
        s += rows[r * n + i] * rows[r * n + j];
      }
      out[i * n + j] = s * (1.0 / w);
    }
  }
  return out;
}

// Max over elements of |a - ref| / scale, scale = max(|ref_ij|, sqrt(ref_ii ref_jj)) (the
// Cauchy-Schwarz bound on (1/w) sum |x_i x_j|), so near-zero off-diagonal sums of
// mixed-sign data are judged against the magnitude of their terms.
template <typename A>
double max_rel_error(const A* a, const double* ref, std::size_t n) {
  double worst = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      const double r = ref[i * n + j];
      const double scale =
          std::max({std::abs(r), std::sqrt(std::abs(ref[i * n + i] * ref[j * n + j])),
                    std::numeric_limits<double>::min()});
      worst = std::max(worst, std::abs(static_cast<double>(a[i * n + j]) - r) / scale);
    }
  }
  return worst;
}

std::vector<double> random_rows(std::size_t rows, std::size_t n, std::uint64_t seed, double lo,
                                double hi) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<double> v(rows * n);
  for (auto& x : v)
    x = u(rng);
  return v;
}

std::vector<double> integer_rows(std::size_t rows, std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<double> v(rows * n);
  for (auto& x : v)
    x = static_cast<double>(static_cast<int>(rng() % 101) - 50);
  return v;
}

bool is_step(std::uint64_t t, const SignatureConfig& c) {
  const auto w = static_cast<std::uint64_t>(*std::max_element(c.scales.begin(), c.scales.end()));
  return t + 1 >= w && (t + 1 - w) % static_cast<std::uint64_t>(c.step) == 0;
}

// Pushes all rows and checks every emitted step against the definition.
void check_against_reference(const std::vector<double>& rows, std::size_t n,
                             const SignatureConfig& config, double tol, bool exact) {
  SignatureState state(n, config);
  const std::size_t total = rows.size() / n;
  const std::size_t s_count = config.scales.size();
  std::uint64_t emitted = 0;
  std::vector<double> ref(n * n);
  for (std::size_t t = 0; t < total; ++t) {
    const bool step = state.push(&rows[t * n]);
    ASSERT_EQ(step, is_step(t, config)) << "t=" << t;
    if (!step) continue;
    ++emitted;
    ASSERT_EQ(state.last_step_row(), t);
    ASSERT_TRUE(state.last_step_valid());
    const std::vector<double>& got = state.latest_double();
    const std::vector<float>& got_f = state.latest();
    ASSERT_EQ(got.size(), s_count * n * n);
    ASSERT_EQ(got_f.size(), s_count * n * n);
    for (std::size_t s = 0; s < s_count; ++s) {
      signature_from_scratch(rows.data(), n, t + 1, config.scales[s], ref.data());
      const double* g = got.data() + s * n * n;
      if (exact) {
        for (std::size_t e = 0; e < n * n; ++e) {
          ASSERT_EQ(g[e], ref[e]) << "t=" << t << " scale=" << config.scales[s] << " e=" << e;
        }
      } else {
        ASSERT_LE(max_rel_error(g, ref.data(), n), tol)
            << "t=" << t << " scale=" << config.scales[s] << " n=" << n;
      }
      ASSERT_LE(max_rel_error(got_f.data() + s * n * n, ref.data(), n), 1e-6)
          << "float t=" << t << " scale=" << config.scales[s];
    }
  }
  EXPECT_EQ(state.steps(), emitted);
  EXPECT_EQ(state.counters().steps_emitted, emitted);
  EXPECT_EQ(state.counters().samples, total);
  EXPECT_EQ(state.counters().steps_invalid, 0u);
}

TEST(SignatureReference, FromScratchMatchesNaiveDefinition) {
  for (std::size_t n : {1u, 2u, 7u, 30u, 38u, 65u, 130u}) {
    const auto rows = random_rows(80, n, 7 + n, -2.0, 3.0);
    std::vector<double> out(n * n);
    for (int w : {1, 10, 30, 60}) {
      for (std::size_t end : {std::size_t(w), std::size_t(61), std::size_t(80)}) {
        signature_from_scratch(rows.data(), n, end, w, out.data());
        const auto want = naive(rows, n, end, w);
        EXPECT_LE(max_rel_error(out.data(), want.data(), n), 1e-13) << "n=" << n << " w=" << w;
        for (std::size_t i = 0; i < n; ++i) {
          for (std::size_t j = 0; j < n; ++j)
            ASSERT_EQ(out[i * n + j], out[j * n + i]);
        }
      }
    }
  }
}

TEST(SignatureReference, RejectsShortInput) {
  std::vector<double> rows(10, 1.0), out(1);
  EXPECT_THROW(signature_from_scratch(rows.data(), 1, 9, 10, out.data()), std::invalid_argument);
  EXPECT_THROW(signature_from_scratch(rows.data(), 1, 9, 0, out.data()), std::invalid_argument);
}

TEST(SignatureConfig, Validation) {
  EXPECT_NO_THROW(SignatureState(3, SignatureConfig{}));
  EXPECT_THROW(SignatureState(0, SignatureConfig{}), std::invalid_argument);
  SignatureConfig c;
  c.scales = {};
  EXPECT_THROW(SignatureState(3, c), std::invalid_argument);
  c.scales = {10, 0};
  EXPECT_THROW(SignatureState(3, c), std::invalid_argument);
  c.scales = {10, 10};
  EXPECT_THROW(SignatureState(3, c), std::invalid_argument);
  c.scales = {10};
  c.step = 0;
  EXPECT_THROW(SignatureState(3, c), std::invalid_argument);
  c.step = 1;
  c.history = 0;
  EXPECT_THROW(SignatureState(3, c), std::invalid_argument);
}

TEST(SignatureState, EmissionRuleDefaultConfig) {
  SignatureState state(2, SignatureConfig{});
  const double x[2] = {0.5, 0.25};
  std::vector<std::uint64_t> rows;
  for (int t = 0; t < 200; ++t) {
    if (state.push(x)) rows.push_back(state.last_step_row());
  }
  // max scale 60, step 10: after samples 59, 69, ..., 199 - 10 = 189, 199.
  ASSERT_EQ(rows.size(), 15u);
  for (std::size_t k = 0; k < rows.size(); ++k)
    EXPECT_EQ(rows[k], 59 + 10 * k);
  EXPECT_EQ(state.steps(), 15u);
  EXPECT_TRUE(state.window_ready());
  // Constant input: every scale is x_i x_j.
  const auto& m = state.latest_double();
  for (std::size_t s = 0; s < 3; ++s) {
    EXPECT_DOUBLE_EQ(m[s * 4 + 0], 0.25);
    EXPECT_DOUBLE_EQ(m[s * 4 + 1], 0.125);
    EXPECT_DOUBLE_EQ(m[s * 4 + 2], 0.125);
    EXPECT_DOUBLE_EQ(m[s * 4 + 3], 0.0625);
  }
}

// Integer data: every sum is exact in double, so any indexing error shows as inequality.
TEST(SignatureState, ExactOnIntegerDataManyConfigs) {
  const std::vector<SignatureConfig> configs = {
      {{10, 30, 60}, 10, 5, MissingPolicy::kHoldLast},
      {{10, 30, 60}, 1, 5, MissingPolicy::kHoldLast},
      {{10, 30, 60}, 3, 2, MissingPolicy::kHoldLast},
      {{10, 30, 60}, 14, 1, MissingPolicy::kHoldLast},
      {{10, 30, 60}, 29, 1, MissingPolicy::kHoldLast},
      {{10, 30, 60}, 61, 1, MissingPolicy::kHoldLast},
      {{60, 10, 30}, 7, 3, MissingPolicy::kHoldLast},
      {{1, 2, 3}, 1, 4, MissingPolicy::kHoldLast},
      {{1}, 1, 1, MissingPolicy::kHoldLast},
      {{5, 17}, 2, 2, MissingPolicy::kHoldLast},
      {{100}, 3, 2, MissingPolicy::kHoldLast},
  };
  for (std::size_t n : {1u, 2u, 7u, 30u, 38u}) {
    for (const auto& c : configs) {
      SCOPED_TRACE("n=" + std::to_string(n) + " step=" + std::to_string(c.step));
      const auto rows = integer_rows(700, n, 100 + n);
      check_against_reference(rows, n, c, 0.0, true);
      if (HasFatalFailure()) return;
    }
  }
}

TEST(SignatureState, MatchesReferenceOnRandomData) {
  for (std::size_t n : {1u, 2u, 7u, 30u, 38u}) {
    for (int step : {1, 5, 10, 20}) {
      SignatureConfig c;
      c.step = step;
      SCOPED_TRACE("n=" + std::to_string(n) + " step=" + std::to_string(step));
      // Min-max normalised range, then a mixed-sign (z-score like) range.
      check_against_reference(random_rows(900, n, 11 * n + step, 0.0, 1.0), n, c, 1e-9, false);
      check_against_reference(random_rows(900, n, 13 * n + step, -3.0, 3.0), n, c, 1e-9, false);
      if (HasFatalFailure()) return;
    }
  }
}

// Wrap-around: the ring holds max(scales) + step rows; run far past many wraps with a
// capacity that does not divide the step pattern.
TEST(SignatureState, RingBufferWrapAround) {
  SignatureConfig c;
  c.scales = {3, 7, 11};
  c.step = 2;  // ring of 13 rows
  c.history = 3;
  const std::size_t n = 5;
  check_against_reference(integer_rows(13 * 37 + 5, n, 5), n, c, 0.0, true);
  c.step = 4;  // ring of 15 rows
  check_against_reference(integer_rows(15 * 41 + 3, n, 6), n, c, 0.0, true);
}

// 10^6 samples with a slowly varying signal plus noise in [0, 1]; checks every step
// against the definition over a separately kept copy of the last window. No drift: the
// error at the end is no worse than at the start.
TEST(SignatureState, NoDriftAfterMillionSamples) {
  const std::size_t n = 3;
  for (int step : {1, 10}) {
    SignatureConfig c;
    c.step = step;
    SignatureState state(n, c);
    std::mt19937_64 rng(42);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    std::deque<double> last;  // last 60 rows
    std::vector<double> window(60 * n), ref(n * n);
    double early = 0.0, late = 0.0;
    const std::size_t total = 1000000;
    for (std::size_t t = 0; t < total; ++t) {
      double x[n];
      for (std::size_t i = 0; i < n; ++i) {
        x[i] = 0.5 + 0.4 * std::sin(t / (40.0 + 3.0 * i)) + 0.1 * (u(rng) - 0.5);
        last.push_back(x[i]);
      }
      if (last.size() > 60 * n) last.erase(last.begin(), last.begin() + n);
      if (!state.push(x)) continue;
      // Check a sample of the steps (every one for the first 1000 and last 1000).
      const std::uint64_t k = state.steps();
      const bool edge = t < 20000 || t + 20000 > total;
      if (!edge && k % 97 != 0) continue;
      std::copy(last.begin(), last.end(), window.begin());
      double worst = 0.0;
      for (std::size_t s = 0; s < 3; ++s) {
        signature_from_scratch(window.data(), n, 60, c.scales[s], ref.data());
        worst =
            std::max(worst, max_rel_error(state.latest_double().data() + s * n * n, ref.data(), n));
      }
      ASSERT_LE(worst, 1e-9) << "t=" << t;
      (t < 20000 ? early : late) = std::max(t < 20000 ? early : late, worst);
    }
    EXPECT_EQ(state.counters().samples, total);
    EXPECT_LE(late, 1e-12) << "step " << step;
    EXPECT_LE(early, 1e-12) << "step " << step;
  }
}

// A value 10^6 times the normal range loses relative accuracy of the incremental sums
// while it is being subtracted, and the rolling rebuild restores it: within
// (kRebuildFactor + 1) * w + step samples after the spike every scale is back to 1e-9.
TEST(SignatureState, RecoversAfterHugeSpike) {
  const std::size_t n = 6;
  SignatureConfig c;
  c.step = 1;
  SignatureState state(n, c);
  std::vector<double> rows = random_rows(3000, n, 9, 0.0, 1.0);
  for (std::size_t i = 0; i < n; ++i)
    rows[500 * n + i] = 1e6;
  std::vector<double> ref(n * n);
  const std::size_t settle = 500 + (kRebuildFactor + 1) * 60 + 1;
  for (std::size_t t = 0; t < 3000; ++t) {
    if (!state.push(&rows[t * n]) || t < settle) continue;
    for (std::size_t s = 0; s < 3; ++s) {
      signature_from_scratch(rows.data(), n, t + 1, c.scales[s], ref.data());
      ASSERT_LE(max_rel_error(state.latest_double().data() + s * n * n, ref.data(), n), 1e-9)
          << "t=" << t << " scale " << c.scales[s];
    }
  }
}

TEST(SignatureState, WindowIsHistoryOldestFirst) {
  const std::size_t n = 4;
  SignatureConfig c;
  c.scales = {5, 10};
  c.step = 3;
  c.history = 4;
  SignatureState state(n, c);
  const auto rows = random_rows(200, n, 3, 0.0, 1.0);
  std::deque<std::vector<float>> seen;
  std::vector<float> w(static_cast<std::size_t>(c.history) * state.step_size());
  EXPECT_THROW(state.window(w.data()), std::logic_error);
  for (std::size_t t = 0; t < 200; ++t) {
    if (!state.push(&rows[t * n])) continue;
    seen.push_back(state.latest());
    if (seen.size() > 4) seen.pop_front();
    EXPECT_EQ(state.window_ready(), seen.size() == 4);
    if (!state.window_ready()) {
      EXPECT_FALSE(state.window_valid());
      continue;
    }
    EXPECT_TRUE(state.window_valid());
    state.window(w.data());
    for (std::size_t q = 0; q < 4; ++q) {
      for (std::size_t e = 0; e < state.step_size(); ++e) {
        ASSERT_EQ(w[q * state.step_size() + e], seen[q][e]) << "t=" << t << " q=" << q;
      }
    }
  }
}

TEST(SignatureState, HoldLastFillsMissingValues) {
  const std::size_t n = 3;
  SignatureConfig c;
  c.scales = {2, 4};
  c.step = 1;
  c.history = 1;
  SignatureState state(n, c);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  // Filled values the state should use.
  std::vector<double> input = {1, 2, 3, 4, nan, 6, 7, 8, -inf, nan, nan, 1,
                               2, 3, 4, 5, 6,   7, 8, 9, 10,   11,  12,  13};
  std::vector<double> filled = {1, 2, 3, 4, 2, 6, 7, 8, 6,  7,  8,  1,
                                2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13};
  std::vector<double> ref(n * n);
  for (std::size_t t = 0; t < 8; ++t) {
    const bool step = state.push(&input[t * n]);
    EXPECT_EQ(step, t >= 3);
    if (!step) continue;
    EXPECT_TRUE(state.last_step_valid()) << t;  // every sensor had a value to hold
    for (std::size_t s = 0; s < 2; ++s) {
      signature_from_scratch(filled.data(), n, t + 1, c.scales[s], ref.data());
      for (std::size_t e = 0; e < n * n; ++e) {
        EXPECT_EQ(state.latest_double()[s * n * n + e], ref[e]) << "t=" << t;
      }
    }
  }
  EXPECT_EQ(state.counters().values_missing, 4u);
  EXPECT_EQ(state.counters().values_held, 4u);
  EXPECT_EQ(state.counters().steps_invalid, 0u);
}

TEST(SignatureState, HoldLastWithNothingToHoldInvalidatesSteps) {
  const std::size_t n = 2;
  SignatureConfig c;
  c.scales = {3};
  c.step = 1;
  c.history = 2;
  SignatureState state(n, c);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // Sensor 1 has no value until sample 2; its first two samples count as 0.
  const double rows[][2] = {{1, nan}, {2, nan}, {3, 5}, {4, 6}, {5, 7}, {6, 8}};
  std::vector<bool> valid;
  for (const auto& r : rows) {
    if (state.push(r)) valid.push_back(state.last_step_valid());
  }
  // Steps after samples 2, 3, 4, 5: windows [0,2], [1,3] contain a gap; [2,4], [3,5] not.
  EXPECT_EQ(valid, (std::vector<bool>{false, false, true, true}));
  EXPECT_EQ(state.counters().values_missing, 2u);
  EXPECT_EQ(state.counters().values_held, 0u);
  EXPECT_EQ(state.counters().steps_invalid, 2u);
  EXPECT_TRUE(state.window_valid());
  EXPECT_DOUBLE_EQ(state.latest_double()[3], (6.0 * 6 + 7 * 7 + 8 * 8) / 3);
}

TEST(SignatureState, InvalidStepPolicyMarksWindowsWithGaps) {
  const std::size_t n = 2;
  SignatureConfig c;
  c.scales = {2, 4};
  c.step = 2;
  c.history = 2;
  c.missing = MissingPolicy::kInvalidStep;
  SignatureState state(n, c);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<std::array<double, 2>> rows(20, {1.0, 2.0});
  rows[6][1] = nan;  // in the 4-sample windows of the steps after samples 7 and 9
  std::vector<std::uint64_t> invalid_rows;
  std::vector<bool> window_valid;
  for (const auto& r : rows) {
    if (!state.push(r.data())) continue;
    if (!state.last_step_valid()) invalid_rows.push_back(state.last_step_row());
    window_valid.push_back(state.window_valid());
  }
  EXPECT_EQ(invalid_rows, (std::vector<std::uint64_t>{7, 9}));
  EXPECT_EQ(state.counters().steps_invalid, 2u);
  EXPECT_EQ(state.counters().values_missing, 1u);
  EXPECT_EQ(state.counters().values_held, 1u);
  // Steps after 3, 5, 7, 9, 11, 13, ...: windows of two steps.
  EXPECT_EQ(window_valid[0], false);  // not ready
  EXPECT_EQ(window_valid[1], true);
  EXPECT_EQ(window_valid[2], false);
  EXPECT_EQ(window_valid[3], false);
  EXPECT_EQ(window_valid[4], false);  // step 9 still in the window
  EXPECT_EQ(window_valid[5], true);
  // The held value is used in the sums: all windows see (1, 2).
  EXPECT_DOUBLE_EQ(state.latest_double()[1], 2.0);
}

TEST(SignatureState, ResetStartsOver) {
  const std::size_t n = 3;
  SignatureConfig c;
  c.step = 7;
  SignatureState a(n, c), b(n, c);
  const auto rows = random_rows(500, n, 21, 0.0, 1.0);
  for (std::size_t t = 0; t < 300; ++t)
    a.push(&rows[t * n]);
  a.reset();
  EXPECT_EQ(a.counters().samples, 0u);
  EXPECT_EQ(a.steps(), 0u);
  EXPECT_FALSE(a.window_ready());
  for (std::size_t t = 0; t < 500; ++t) {
    ASSERT_EQ(a.push(&rows[t * n]), b.push(&rows[t * n]));
  }
  EXPECT_EQ(a.latest(), b.latest());
  EXPECT_EQ(a.latest_double(), b.latest_double());
}

TEST(SignatureState, PushDoesNotAllocateAndMemoryIsBounded) {
  const std::size_t n = 38;
  for (int step : {1, 10}) {
    SignatureConfig c;
    c.step = step;
    SignatureState state(n, c);
    const auto rows = random_rows(1000, n, 1, 0.0, 1.0);
    const std::size_t bytes = state.memory_bytes();
    g_allocations = 0;
    g_count_allocations = true;
    for (std::size_t t = 0; t < 20000; ++t)
      state.push(&rows[(t % 1000) * n]);
    g_count_allocations = false;
    EXPECT_EQ(g_allocations, 0u) << "step " << step;
    EXPECT_EQ(state.memory_bytes(), bytes);
    // Ring (60 + step rows), 3 triangles, 5 float history steps.
    const std::size_t expected =
        (60 + static_cast<std::size_t>(step)) * n * 8 + 3 * n * (n + 1) / 2 * 8 + 5 * 3 * n * n * 4;
    EXPECT_GE(bytes, expected);
    EXPECT_LT(bytes, expected + 4096);
  }
}

}  // namespace
}  // namespace mscred::pipeline
