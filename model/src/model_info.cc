#include "mscred/model/model_info.h"

#include <nlohmann/json.hpp>

#include "mscred/model/checkpoint.h"

namespace mscred::model {
namespace {

using nlohmann::json;

const char* missing_name(pipeline::MissingPolicy p) {
  return p == pipeline::MissingPolicy::kHoldLast ? "hold_last" : "invalid_step";
}

}  // namespace

std::string model_info_to_json(const ModelInfo& info) {
  json j;
  j["model_id"] = info.model_id;
  j["sensors"] = info.sensors;
  j["normaliser"] = {{"kind", pipeline::to_string(info.normaliser.kind())},
                     {"offset", info.normaliser.offset()},
                     {"scale", info.normaliser.scale()},
                     {"constant", info.normaliser.constant_sensors()}};
  j["signature"] = {{"scales", info.signature.scales},
                    {"step", info.signature.step},
                    {"history", info.signature.history},
                    {"missing", missing_name(info.signature.missing)}};
  j["score"] = {{"theta", info.score.theta},
                {"beta", info.score.beta},
                {"detect_scale", info.score.detect_scale},
                {"top_k", info.score.top_k},
                {"cause_scale", info.score.cause_scale}};
  j["thresholds"] = {{"tau", info.thresholds.tau}, {"tau_total", info.thresholds.tau_total}};
  j["net"] = {{"n", info.net.n},
              {"scales", info.net.scales},
              {"history", info.net.history},
              {"lstm_kernel", info.net.lstm_kernel},
              {"chi", info.net.chi},
              {"forget_bias", info.net.forget_bias},
              {"objective", to_string(info.net.objective)}};
  j["data_digest"] = info.data_digest;
  j["created_utc"] = info.created_utc;
  j["training"] = info.training_summary_json.empty()
                      ? json::object()
                      : json::parse(info.training_summary_json, nullptr, false);
  return j.dump(1);
}

ModelInfo model_info_from_json(const std::string& text, const std::string& what) {
  const std::string where = "checkpoint " + what + ": metadata";
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw CheckpointError(where + " is not valid JSON");

  // Typed access that names the key on failure.
  auto at = [&](const json& obj, const char* key, const std::string& path) -> const json& {
    if (!obj.is_object() || !obj.contains(key)) {
      throw CheckpointError(where + ": missing key " + path + key);
    }
    return obj.at(key);
  };
  auto get = [&](const json& obj, const char* key, const std::string& path, auto* out) {
    try {
      *out = at(obj, key, path).template get<std::decay_t<decltype(*out)>>();
    } catch (const json::exception& e) {
      throw CheckpointError(where + ": key " + path + key + " has the wrong type (" + e.what() +
                            ")");
    }
  };

  ModelInfo m;
  get(j, "model_id", "", &m.model_id);
  get(j, "sensors", "", &m.sensors);
  const auto& nj = at(j, "normaliser", "");
  std::string kind;
  std::vector<double> offset, scale;
  std::vector<std::size_t> constant;
  get(nj, "kind", "normaliser.", &kind);
  get(nj, "offset", "normaliser.", &offset);
  get(nj, "scale", "normaliser.", &scale);
  get(nj, "constant", "normaliser.", &constant);
  try {
    m.normaliser = pipeline::Normaliser::from_parameters(pipeline::parse_norm_kind(kind), offset,
                                                         scale, constant);
  } catch (const std::invalid_argument& e) {
    throw CheckpointError(where + ": normaliser: " + e.what());
  }
  const auto& sj = at(j, "signature", "");
  get(sj, "scales", "signature.", &m.signature.scales);
  get(sj, "step", "signature.", &m.signature.step);
  get(sj, "history", "signature.", &m.signature.history);
  std::string missing;
  get(sj, "missing", "signature.", &missing);
  if (missing == "hold_last") {
    m.signature.missing = pipeline::MissingPolicy::kHoldLast;
  } else if (missing == "invalid_step") {
    m.signature.missing = pipeline::MissingPolicy::kInvalidStep;
  } else {
    throw CheckpointError(where + ": signature.missing must be hold_last or invalid_step");
  }
  const auto& cj = at(j, "score", "");
  get(cj, "theta", "score.", &m.score.theta);
  get(cj, "beta", "score.", &m.score.beta);
  get(cj, "detect_scale", "score.", &m.score.detect_scale);
  get(cj, "top_k", "score.", &m.score.top_k);
  get(cj, "cause_scale", "score.", &m.score.cause_scale);
  const auto& tj = at(j, "thresholds", "");
  get(tj, "tau", "thresholds.", &m.thresholds.tau);
  get(tj, "tau_total", "thresholds.", &m.thresholds.tau_total);
  const auto& mj = at(j, "net", "");
  get(mj, "n", "net.", &m.net.n);
  get(mj, "scales", "net.", &m.net.scales);
  get(mj, "history", "net.", &m.net.history);
  get(mj, "lstm_kernel", "net.", &m.net.lstm_kernel);
  get(mj, "chi", "net.", &m.net.chi);
  get(mj, "forget_bias", "net.", &m.net.forget_bias);
  // Added in session 3: a checkpoint written before it has no net.objective and was trained
  // to reconstruct.
  if (mj.contains("objective")) {
    std::string objective;
    get(mj, "objective", "net.", &objective);
    try {
      m.net.objective = parse_objective(objective);
    } catch (const std::invalid_argument&) {
      throw CheckpointError(where + ": net.objective must be reconstruct or forecast, got '" +
                            objective + "'");
    }
  }
  get(j, "data_digest", "", &m.data_digest);
  get(j, "created_utc", "", &m.created_utc);
  if (j.contains("training")) m.training_summary_json = j["training"].dump();

  // Consistency between the blocks: a file that passes the checksum but was written by a
  // buggy or foreign tool must still not load into a wrong-shaped pipeline.
  const auto n = m.sensors.size();
  auto fail = [&](const std::string& msg) { throw CheckpointError(where + ": " + msg); };
  if (n == 0) fail("no sensors");
  if (static_cast<std::size_t>(m.net.n) != n) fail("net.n differs from the number of sensors");
  if (m.normaliser.size() != n) {
    fail("normaliser has " + std::to_string(m.normaliser.size()) + " sensors, the model " +
         std::to_string(n));
  }
  if (m.signature.scales.size() != static_cast<std::size_t>(m.net.scales)) {
    fail("signature.scales differs from net.scales");
  }
  if (m.signature.history != m.net.history) fail("signature.history differs from net.history");
  try {
    pipeline::validate(m.signature);
    validate(m.net);
  } catch (const std::invalid_argument& e) {
    fail(e.what());
  }
  const auto problem =
      pipeline::check_score_config(m.score, m.thresholds, m.signature.scales.size());
  if (!problem.empty()) fail(problem);
  return m;
}

}  // namespace mscred::model
