#include "mscred/pipeline/normaliser.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>

namespace mscred::pipeline {

const char* to_string(NormKind kind) {
  return kind == NormKind::kZScore ? "zscore" : "minmax";
}

NormKind parse_norm_kind(const std::string& text) {
  if (text == "minmax" || text == "min-max") return NormKind::kMinMax;
  if (text == "zscore" || text == "z-score") return NormKind::kZScore;
  throw std::invalid_argument("unknown normalisation '" + text + "' (minmax or zscore)");
}

Normaliser::Normaliser(std::size_t n, NormKind kind)
    : kind_(kind), offset_(n, 0.0), scale_(n, 1.0) {}

Normaliser Normaliser::fit(const std::vector<double>& rows, std::size_t n_cols, NormKind kind) {
  if (n_cols == 0 || rows.size() % n_cols != 0) {
    throw std::invalid_argument("Normaliser::fit: value count is not a multiple of columns");
  }
  return fit(rows.data(), rows.size() / n_cols, n_cols, kind);
}

Normaliser Normaliser::fit(const double* rows, std::size_t n_rows, std::size_t n_cols,
                           NormKind kind) {
  Normaliser norm(n_cols, kind);
  std::vector<std::size_t> count(n_cols, 0);
  std::vector<double> lo(n_cols, std::numeric_limits<double>::infinity());
  std::vector<double> hi(n_cols, -std::numeric_limits<double>::infinity());
  std::vector<double> sum(n_cols, 0.0);
  for (std::size_t r = 0; r < n_rows; ++r) {
    const double* row = rows + r * n_cols;
    for (std::size_t c = 0; c < n_cols; ++c) {
      const double v = row[c];
      if (!std::isfinite(v)) continue;
      ++count[c];
      lo[c] = std::min(lo[c], v);
      hi[c] = std::max(hi[c], v);
      sum[c] += v;
    }
  }
  std::vector<double> spread(n_cols, 0.0);
  if (kind == NormKind::kMinMax) {
    for (std::size_t c = 0; c < n_cols; ++c) {
      if (count[c] == 0) continue;
      norm.offset_[c] = lo[c];
      spread[c] = hi[c] - lo[c];
    }
  } else {
    // Two passes: the mean, then the mean squared deviation from it.
    std::vector<double> mean(n_cols, 0.0), ss(n_cols, 0.0);
    for (std::size_t c = 0; c < n_cols; ++c) {
      if (count[c] > 0) mean[c] = sum[c] / static_cast<double>(count[c]);
    }
    for (std::size_t r = 0; r < n_rows; ++r) {
      const double* row = rows + r * n_cols;
      for (std::size_t c = 0; c < n_cols; ++c) {
        if (!std::isfinite(row[c])) continue;
        const double d = row[c] - mean[c];
        ss[c] += d * d;
      }
    }
    for (std::size_t c = 0; c < n_cols; ++c) {
      if (count[c] == 0) continue;
      norm.offset_[c] = mean[c];
      spread[c] = std::sqrt(ss[c] / static_cast<double>(count[c]));
    }
  }
  for (std::size_t c = 0; c < n_cols; ++c) {
    const double tol = kConstantTolerance * std::max(1.0, std::abs(norm.offset_[c]));
    if (count[c] == 0 || !(spread[c] > tol) || !std::isfinite(spread[c])) {
      norm.scale_[c] = 1.0;
      norm.constant_.push_back(c);
    } else {
      norm.scale_[c] = spread[c];
    }
  }
  return norm;
}

Normaliser Normaliser::from_parameters(NormKind kind, std::vector<double> offset,
                                       std::vector<double> scale,
                                       std::vector<std::size_t> constant) {
  if (offset.size() != scale.size()) {
    throw std::invalid_argument("Normaliser: " + std::to_string(offset.size()) + " offsets but " +
                                std::to_string(scale.size()) + " scales");
  }
  for (std::size_t c = 0; c < offset.size(); ++c) {
    if (!std::isfinite(offset[c]) || !std::isfinite(scale[c]) || !(scale[c] > 0.0)) {
      throw std::invalid_argument("Normaliser: bad parameters for sensor " + std::to_string(c));
    }
  }
  for (std::size_t c : constant) {
    if (c >= offset.size()) throw std::invalid_argument("Normaliser: constant index range");
  }
  Normaliser norm;
  norm.kind_ = kind;
  norm.offset_ = std::move(offset);
  norm.scale_ = std::move(scale);
  norm.constant_ = std::move(constant);
  return norm;
}

void Normaliser::apply(double* row) const {
  for (std::size_t c = 0; c < offset_.size(); ++c)
    row[c] = (row[c] - offset_[c]) / scale_[c];
}

void Normaliser::apply_rows(double* rows, std::size_t n_rows) const {
  for (std::size_t r = 0; r < n_rows; ++r)
    apply(rows + r * offset_.size());
}

void Normaliser::invert(double* row) const {
  for (std::size_t c = 0; c < offset_.size(); ++c)
    row[c] = row[c] * scale_[c] + offset_[c];
}

}  // namespace mscred::pipeline
