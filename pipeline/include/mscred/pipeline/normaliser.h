#pragma once
// Per-sensor normalisation fitted on training data: y = (x - offset[i]) / scale[i].
//
// - kMinMax (default): offset = min, scale = max - min, so training data maps to [0, 1].
// - kZScore: offset = mean, scale = population standard deviation.
// A sensor is constant when its spread is <= kConstantTolerance * max(1, |offset|) (or it
// has no finite training value); its scale is then 1, so it maps to 0 at the training
// level and any later deviation passes through unscaled instead of dividing by zero.
//
// The parameters (kind, offset, scale) are all a checkpoint needs: from_parameters()
// rebuilds a Normaliser that applies bit-for-bit the same transform.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mscred::pipeline {

enum class NormKind { kMinMax, kZScore };

//! "minmax" / "zscore" and back; parse throws std::invalid_argument.
const char* to_string(NormKind kind);
NormKind parse_norm_kind(const std::string& text);

class Normaliser {
 public:
  static constexpr double kConstantTolerance = 1e-12;

  //! Identity for n sensors (offset 0, scale 1).
  explicit Normaliser(std::size_t n = 0, NormKind kind = NormKind::kMinMax);

  //! Fits on rows [n_rows, n_cols] row-major. Non-finite values are ignored.
  static Normaliser fit(const double* rows, std::size_t n_rows, std::size_t n_cols,
                        NormKind kind = NormKind::kMinMax);
  static Normaliser fit(const std::vector<double>& rows, std::size_t n_cols,
                        NormKind kind = NormKind::kMinMax);

  //! From stored parameters; throws std::invalid_argument if the sizes differ, a scale
  //! is not finite and > 0, an offset is not finite or a constant index is out of range.
  static Normaliser from_parameters(NormKind kind, std::vector<double> offset,
                                    std::vector<double> scale,
                                    std::vector<std::size_t> constant = {});

  std::size_t size() const { return offset_.size(); }
  NormKind kind() const { return kind_; }
  const std::vector<double>& offset() const { return offset_; }
  const std::vector<double>& scale() const { return scale_; }
  //! Indices of the sensors that were constant when fitted (scale forced to 1).
  const std::vector<std::size_t>& constant_sensors() const { return constant_; }

  //! In place on one row of size() values; NaN stays NaN (missing stays missing).
  void apply(double* row) const;
  //! In place on n_rows rows.
  void apply_rows(double* rows, std::size_t n_rows) const;
  double apply(std::size_t sensor, double value) const {
    return (value - offset_[sensor]) / scale_[sensor];
  }
  //! The inverse transform, in place.
  void invert(double* row) const;

 private:
  NormKind kind_ = NormKind::kMinMax;
  std::vector<double> offset_;
  std::vector<double> scale_;
  std::vector<std::size_t> constant_;
};

}  // namespace mscred::pipeline
