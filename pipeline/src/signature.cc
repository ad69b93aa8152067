#include "mscred/pipeline/signature.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>

// On x86-64 the kernels are also compiled for AVX2 and picked at load time (GCC/Clang
// function multiversioning). No FMA: results are bit-identical on every machine.
// Not under ThreadSanitizer: the ifunc resolver is instrumented and runs during relocation,
// before the TSan runtime is initialised, and the program crashes before main().
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MSCRED_NO_SIMD_CLONES 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define MSCRED_NO_SIMD_CLONES 1
#endif
#if defined(__x86_64__) && defined(__GNUC__) && defined(__ELF__) && !defined(MSCRED_NO_SIMD_CLONES)
#define MSCRED_SIMD_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define MSCRED_SIMD_CLONES
#endif

namespace mscred::pipeline {

namespace detail {
namespace {

// r[q] (+)= sum_k c_k * p_k[q] for q in [0, len). Separate functions per K so that the
// compiler sees restrict-qualified parameters and vectorises the loop over q.
template <bool kSet>
inline void axpy1(double* __restrict r, const double* __restrict p0, double c0, std::size_t len) {
  for (std::size_t q = 0; q < len; ++q) {
    const double v = c0 * p0[q];
    r[q] = kSet ? v : r[q] + v;
  }
}
template <bool kSet>
inline void axpy2(double* __restrict r, const double* __restrict p0, const double* __restrict p1,
                  double c0, double c1, std::size_t len) {
  for (std::size_t q = 0; q < len; ++q) {
    const double v = c0 * p0[q] + c1 * p1[q];
    r[q] = kSet ? v : r[q] + v;
  }
}
template <bool kSet>
inline void axpy3(double* __restrict r, const double* __restrict p0, const double* __restrict p1,
                  const double* __restrict p2, double c0, double c1, double c2, std::size_t len) {
  for (std::size_t q = 0; q < len; ++q) {
    const double v = c0 * p0[q] + c1 * p1[q] + c2 * p2[q];
    r[q] = kSet ? v : r[q] + v;
  }
}
template <bool kSet>
inline void axpy4(double* __restrict r, const double* __restrict p0, const double* __restrict p1,
                  const double* __restrict p2, const double* __restrict p3, double c0, double c1,
                  double c2, double c3, std::size_t len) {
  for (std::size_t q = 0; q < len; ++q) {
    const double v = (c0 * p0[q] + c1 * p1[q]) + (c2 * p2[q] + c3 * p3[q]);
    r[q] = kSet ? v : r[q] + v;
  }
}

// Applies samples [s, s + k) (k in 1..4) of the list to one row.
template <bool kSet>
inline void apply_group(double* r, const double* const* xs, const double* sign, std::size_t s,
                        std::size_t k, std::size_t i, std::size_t len) {
  switch (k) {
    case 1:
      axpy1<kSet>(r, xs[s] + i, sign[s] * xs[s][i], len);
      break;
    case 2:
      axpy2<kSet>(r, xs[s] + i, xs[s + 1] + i, sign[s] * xs[s][i], sign[s + 1] * xs[s + 1][i], len);
      break;
    case 3:
      axpy3<kSet>(r, xs[s] + i, xs[s + 1] + i, xs[s + 2] + i, sign[s] * xs[s][i],
                  sign[s + 1] * xs[s + 1][i], sign[s + 2] * xs[s + 2][i], len);
      break;
    default:
      axpy4<kSet>(r, xs[s] + i, xs[s + 1] + i, xs[s + 2] + i, xs[s + 3] + i, sign[s] * xs[s][i],
                  sign[s + 1] * xs[s + 1][i], sign[s + 2] * xs[s + 2][i],
                  sign[s + 3] * xs[s + 3][i], len);
      break;
  }
}

}  // namespace

MSCRED_SIMD_CLONES
void gram_rows(double* tri, const std::size_t* offset, std::size_t n, std::size_t row_begin,
               std::size_t row_end, const double* const* xs, const double* sign, std::size_t count,
               bool assign) {
  for (std::size_t i = row_begin; i < row_end; ++i) {
    double* r = tri + offset[i];  // columns i..n-1
    const std::size_t len = n - i;
    std::size_t s = 0;
    if (assign) {
      if (count == 0) {
        std::fill(r, r + len, 0.0);
        continue;
      }
      const std::size_t k = std::min<std::size_t>(4, count);
      apply_group<true>(r, xs, sign, 0, k, i, len);
      s = k;
    }
    for (; s < count; s += 4) {
      apply_group<false>(r, xs, sign, s, std::min<std::size_t>(4, count - s), i, len);
    }
  }
}

}  // namespace detail

namespace {

// Writes the symmetric [n, n] matrix scale * T, T given by its upper triangle (row i at
// tri + offset[i], columns i..n-1). Blocks of kBlock rows: first their upper part row by
// row (contiguous, vectorised), then the mirror image of that part, which lands in
// kBlock-wide contiguous pieces of the rows below while the block is still in cache.
template <typename Out>
inline void mirror_impl(Out* out, const double* tri, const std::size_t* offset, std::size_t n,
                        double scale) {
  constexpr std::size_t kBlock = 16;
  for (std::size_t bi = 0; bi < n; bi += kBlock) {
    const std::size_t ie = std::min(bi + kBlock, n);
    for (std::size_t i = bi; i < ie; ++i) {
      const double* __restrict r = tri + offset[i];  // r[q] = T[i][i + q]
      Out* __restrict o = out + i * n + i;
      const std::size_t len = n - i;
      for (std::size_t q = 0; q < len; ++q)
        o[q] = static_cast<Out>(r[q] * scale);
    }
    // Lower part of rows j > bi, columns [bi, min(ie, j)): out[j][i] = T[i][j] * scale,
    // read from the triangle (still in cache) rather than from the stores just made.
    for (std::size_t j = bi + 1; j < n; ++j) {
      Out* __restrict dst = out + j * n;
      const std::size_t iend = std::min(ie, j);
      for (std::size_t i = bi; i < iend; ++i) {
        dst[i] = static_cast<Out>(tri[offset[i] + (j - i)] * scale);
      }
    }
  }
}

// Non-template entry points, so that they can be multiversioned (Clang cannot clone
// templates).
MSCRED_SIMD_CLONES void mirror(float* out, const double* tri, const std::size_t* offset,
                               std::size_t n, double scale) {
  mirror_impl(out, tri, offset, n, scale);
}
MSCRED_SIMD_CLONES void mirror(double* out, const double* tri, const std::size_t* offset,
                               std::size_t n, double scale) {
  mirror_impl(out, tri, offset, n, scale);
}

}  // namespace

void validate(const SignatureConfig& config) {
  if (config.scales.empty()) throw std::invalid_argument("signature: no scales");
  std::set<int> seen;
  for (int w : config.scales) {
    if (w < 1) {
      throw std::invalid_argument("signature: scale " + std::to_string(w) + " is not >= 1");
    }
    if (!seen.insert(w).second) {
      throw std::invalid_argument("signature: scale " + std::to_string(w) + " given twice");
    }
  }
  if (config.step < 1) {
    throw std::invalid_argument("signature: step " + std::to_string(config.step) + " is not >= 1");
  }
  if (config.history < 1) {
    throw std::invalid_argument("signature: history " + std::to_string(config.history) +
                                " is not >= 1");
  }
}

SignatureState::SignatureState(std::size_t n_sensors, SignatureConfig config)
    : n_(n_sensors), config_(std::move(config)) {
  if (n_ == 0) throw std::invalid_argument("signature: no sensors");
  validate(config_);
  const std::size_t n_scales = config_.scales.size();
  max_scale_ = *std::max_element(config_.scales.begin(), config_.scales.end());
  tri_size_ = n_ * (n_ + 1) / 2;
  step_size_ = n_scales * n_ * n_;

  bool incremental = false;
  for (int w : config_.scales)
    incremental = incremental || 2 * config_.step < w;
  // An incremental scale also needs the samples that left its window since the last step.
  capacity_ = static_cast<std::size_t>(max_scale_) +
              (incremental ? static_cast<std::size_t>(config_.step) : 0);

  row_offset_.resize(n_);
  std::size_t off = 0;
  for (std::size_t i = 0; i < n_; ++i) {
    row_offset_[i] = off;
    off += n_ - i;
  }
  ring_.assign(capacity_ * n_, 0.0);
  last_value_.assign(n_, 0.0);
  has_value_.assign(n_, 0);
  sums_.assign(n_scales, std::vector<double>(tri_size_, 0.0));
  cursor_.assign(n_scales, 0);
  credit_.assign(n_scales, 0);
  incremental_.resize(n_scales);
  for (std::size_t s = 0; s < n_scales; ++s)
    incremental_[s] = 2 * config_.step < config_.scales[s];
  const auto w_max = static_cast<std::size_t>(max_scale_);
  const auto k = static_cast<std::size_t>(config_.step);
  window_xs_.assign(w_max, nullptr);
  window_signs_.assign(w_max, 1.0);
  delta_xs_.assign(2 * k, nullptr);
  delta_signs_.resize(2 * k);
  for (std::size_t u = 0; u < k; ++u) {
    delta_signs_[2 * u] = 1.0;       // entered the window
    delta_signs_[2 * u + 1] = -1.0;  // left it
  }
  history_.assign(static_cast<std::size_t>(config_.history), std::vector<float>(step_size_, 0.0f));
  history_valid_.assign(history_.size(), 0);
  // latest_double_ is allocated on first use: most callers only need the float step.
}

void SignatureState::reset() {
  std::fill(ring_.begin(), ring_.end(), 0.0);
  std::fill(last_value_.begin(), last_value_.end(), 0.0);
  std::fill(has_value_.begin(), has_value_.end(), 0);
  for (auto& s : sums_)
    std::fill(s.begin(), s.end(), 0.0);
  std::fill(cursor_.begin(), cursor_.end(), 0);
  std::fill(credit_.begin(), credit_.end(), 0);
  for (auto& h : history_)
    std::fill(h.begin(), h.end(), 0.0f);
  std::fill(history_valid_.begin(), history_valid_.end(), 0);
  latest_double_fresh_ = false;
  newest_ = 0;
  head_ = 0;
  next_row_ = 0;
  last_step_row_ = 0;
  have_step_ = false;
  invalid_until_ = 0;
  counters_ = SignatureCounters{};
}

const double* SignatureState::back(std::size_t d) const {
  // The newest sample is at head_ - 1; d < capacity_.
  const std::size_t newest = head_ == 0 ? capacity_ - 1 : head_ - 1;
  const std::size_t slot = newest >= d ? newest - d : newest + capacity_ - d;
  return ring_.data() + slot * n_;
}

bool SignatureState::push(const double* values) {
  const std::uint64_t t = next_row_;
  double* slot = ring_.data() + head_ * n_;
  head_ = head_ + 1 == capacity_ ? 0 : head_ + 1;
  bool invalid = false;
  for (std::size_t i = 0; i < n_; ++i) {
    const double v = values[i];
    if (std::isfinite(v)) {
      slot[i] = v;
      last_value_[i] = v;
      has_value_[i] = 1;
      continue;
    }
    ++counters_.values_missing;
    if (has_value_[i]) {
      slot[i] = last_value_[i];
      ++counters_.values_held;
      if (config_.missing == MissingPolicy::kInvalidStep) invalid = true;
    } else {
      slot[i] = 0.0;
      invalid = true;
    }
  }
  if (invalid) invalid_until_ = t + static_cast<std::uint64_t>(max_scale_);
  ++counters_.samples;
  ++next_row_;

  const std::uint64_t filled = t + 1;
  const auto w_max = static_cast<std::uint64_t>(max_scale_);
  if (filled < w_max || (filled - w_max) % static_cast<std::uint64_t>(config_.step) != 0) {
    return false;
  }
  emit(t);
  return true;
}

void SignatureState::emit(std::uint64_t t) {
  const std::size_t* off = row_offset_.data();
  const std::size_t n_scales = config_.scales.size();
  std::vector<float>& out_slot = history_[have_step_ ? (newest_ + 1) % history_.size() : 0];

  // Window pointers, newest first: back(0) .. back(max_scale - 1). Scale w uses the first w.
  for (std::size_t d = 0; d < window_xs_.size(); ++d)
    window_xs_[d] = back(d);
  const auto k = static_cast<std::size_t>(config_.step);
  const double* const* win = window_xs_.data();
  const double* wsg = window_signs_.data();

  for (std::size_t s = 0; s < n_scales; ++s) {
    const auto w = static_cast<std::size_t>(config_.scales[s]);
    double* tri = sums_[s].data();
    if (!have_step_ || !incremental_[s]) {
      detail::gram_rows(tri, off, n_, 0, n_, win, wsg, w, true);
      continue;
    }
    // Rolling exact rebuild: each step earns tri_size * step credit; a row of length L
    // costs L * kRebuildFactor * w. Rows are rebuilt from the cursor while the credit is
    // positive (it may go negative by one row), so the whole triangle is rebuilt once per
    // kRebuildFactor * w samples.
    const auto unit = static_cast<std::int64_t>(kRebuildFactor) * static_cast<std::int64_t>(w);
    credit_[s] += static_cast<std::int64_t>(tri_size_ * k);
    const std::size_t begin = cursor_[s];
    std::size_t end = begin;
    std::size_t rows = 0;
    while (rows < n_ && credit_[s] > 0) {
      credit_[s] -= static_cast<std::int64_t>(n_ - end) * unit;
      end = end + 1 == n_ ? 0 : end + 1;
      ++rows;
    }
    cursor_[s] = end;
    auto rebuild = [&](std::size_t rb, std::size_t re) {
      detail::gram_rows(tri, off, n_, rb, re, win, wsg, w, true);
    };
    // The other rows advance by the k samples that entered and the k that left:
    // entered t-k+1 .. t, left t-k-w+1 .. t-w.
    for (std::size_t u = 0; u < k; ++u) {
      delta_xs_[2 * u] = back(u);
      delta_xs_[2 * u + 1] = back(w + u);
    }
    auto delta = [&](std::size_t rb, std::size_t re) {
      if (rb < re) {
        detail::gram_rows(tri, off, n_, rb, re, delta_xs_.data(), delta_signs_.data(), 2 * k,
                          false);
      }
    };
    if (rows == 0) {
      delta(0, n_);
    } else if (rows == n_) {
      rebuild(0, n_);
    } else if (begin < end) {
      rebuild(begin, end);
      delta(0, begin);
      delta(end, n_);
    } else {  // wrapped around: [begin, n) and [0, end)
      rebuild(begin, n_);
      rebuild(0, end);
      delta(end, begin);
    }
  }

  // Emission: the float step goes into the next history slot.
  for (std::size_t s = 0; s < n_scales; ++s) {
    mirror(out_slot.data() + s * n_ * n_, sums_[s].data(), off, n_,
           1.0 / static_cast<double>(config_.scales[s]));
  }
  newest_ = have_step_ ? (newest_ + 1) % history_.size() : 0;
  const bool valid = t >= invalid_until_;
  history_valid_[newest_] = valid ? 1 : 0;
  if (!valid) ++counters_.steps_invalid;
  ++counters_.steps_emitted;
  last_step_row_ = t;
  have_step_ = true;
  latest_double_fresh_ = false;
}

bool SignatureState::last_step_valid() const {
  return have_step_ && history_valid_[newest_] != 0;
}

const std::vector<float>& SignatureState::latest() const {
  return history_[newest_];
}

const std::vector<double>& SignatureState::latest_double() const {
  if (!latest_double_fresh_) {
    latest_double_.resize(step_size_);
    if (have_step_) {
      for (std::size_t s = 0; s < config_.scales.size(); ++s) {
        mirror(latest_double_.data() + s * n_ * n_, sums_[s].data(), row_offset_.data(), n_,
               1.0 / static_cast<double>(config_.scales[s]));
      }
    } else {
      std::fill(latest_double_.begin(), latest_double_.end(), 0.0);
    }
    latest_double_fresh_ = true;
  }
  return latest_double_;
}

bool SignatureState::window_ready() const {
  return counters_.steps_emitted >= static_cast<std::uint64_t>(config_.history);
}

void SignatureState::window(float* out) const {
  if (!window_ready()) {
    throw std::logic_error("signature: window() before " + std::to_string(config_.history) +
                           " steps were emitted");
  }
  const std::size_t h = history_.size();
  for (std::size_t q = 0; q < h; ++q) {
    const std::vector<float>& slot = history_[(newest_ + 1 + q) % h];
    std::memcpy(out + q * step_size_, slot.data(), step_size_ * sizeof(float));
  }
}

bool SignatureState::window_valid() const {
  if (!window_ready()) return false;
  return std::all_of(history_valid_.begin(), history_valid_.end(),
                     [](std::uint8_t v) { return v != 0; });
}

std::size_t SignatureState::memory_bytes() const {
  std::size_t bytes = ring_.capacity() * sizeof(double) + last_value_.capacity() * sizeof(double) +
                      has_value_.capacity() + row_offset_.capacity() * sizeof(std::size_t) +
                      latest_double_.capacity() * sizeof(double) +
                      (window_xs_.capacity() + delta_xs_.capacity()) * sizeof(const double*) +
                      (window_signs_.capacity() + delta_signs_.capacity()) * sizeof(double) +
                      history_valid_.capacity();
  for (const auto& s : sums_)
    bytes += s.capacity() * sizeof(double);
  for (const auto& h : history_)
    bytes += h.capacity() * sizeof(float);
  return bytes;
}

void signature_from_scratch(const double* rows, std::size_t n, std::size_t end, int w,
                            double* out) {
  if (w < 1 || end < static_cast<std::size_t>(w)) {
    throw std::invalid_argument("signature_from_scratch: need end >= w >= 1");
  }
  const auto nw = static_cast<std::size_t>(w);
  std::vector<const double*> xs(nw);
  std::vector<double> sign(nw, 1.0);
  for (std::size_t d = 0; d < nw; ++d)
    xs[d] = rows + (end - 1 - d) * n;
  // The upper triangle of out, row i starting at column i.
  std::vector<std::size_t> offset(n);
  for (std::size_t i = 0; i < n; ++i)
    offset[i] = i * n + i;
  detail::gram_rows(out, offset.data(), n, 0, n, xs.data(), sign.data(), nw, true);
  const double scale = 1.0 / static_cast<double>(w);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = i; j < n; ++j)
      out[i * n + j] *= scale;
  }
  constexpr std::size_t kTile = 64;
  for (std::size_t bi = 0; bi < n; bi += kTile) {
    const std::size_t ie = std::min(bi + kTile, n);
    for (std::size_t bj = bi; bj < n; bj += kTile) {
      const std::size_t je = std::min(bj + kTile, n);
      for (std::size_t i = bi; i < ie; ++i) {
        for (std::size_t j = std::max(bj, i + 1); j < je; ++j)
          out[j * n + i] = out[i * n + j];
      }
    }
  }
}

}  // namespace mscred::pipeline
