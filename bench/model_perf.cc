// Our side of bench/model_bench.sh: a small server that the driver (bench/model_bench.py)
// talks to over stdin/stdout, so that our runs and the Python baseline's interleave in time
// (A B A B) while LibTorch and the weights stay loaded. One command per line, one JSON line
// per answer. Weights and inputs are raw little-endian float32 files written by the driver
// from the baseline's own model (same parameter names), so both sides compute the same
// function on the same data.
//
//   load <n> <kernel> <dir>          weights <dir>/<param>.f32, steps <dir>/steps.f32
//                                    [streams, steps, 3, n, n], window input <dir>/x.f32
//   fwd <batch> <reps>               plain forward of windows from x.f32 (first `batch`)
//   stream <batch> <reps>            streaming forward: `batch` streams advance one step
//                                    per call (window t = steps t..t+h-1 of each stream)
//   train <batch> <reps>             Adam steps (lr 2e-4) on the first `batch` windows
//   train_contig <batch> <reps>      the same on `batch` consecutive windows of stream 0
//                                    (windows t = steps t..t+h-1, t < batch) through the
//                                    shared-step forward (`mscred train --batch-order
//                                    contiguous`): each distinct step encoded once
//   eval <batch> <reps>              `mscred eval`'s batches: `batch` consecutive windows of
//                                    stream 0 per call, the next call continuing where the
//                                    last ended (wrapping at the end of the stream: that
//                                    call's first window is then a miss)
//   out <path>                       writes the last stream call's output there
//   mkldnn <0|1>                     every conv through oneDNN (1) or ATen's choice (0); the
//                                    default is the daemon's (worker.onednn auto: oneDNN
//                                    from 2 threads)
//   profile <batch> <reps> <path>    streaming calls under the autograd profiler (chrome
//                                    trace JSON at <path>)
//   profile_train <batch> <reps> <path>  Adam steps as in `train`, under the profiler
//   quit
// Answers: {"times": [...seconds per call...], ...}. Threads: torch::set_num_threads from
// argv[1] (also what OPENBLAS_NUM_THREADS should be set to by the caller).
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "mscred/model/train.h"
#include "mscred_net.h"
#include "stream_engine.h"

namespace {

using mscred::model::ModelConfig;
using mscred::model::MscredNet;
using mscred::model::StreamEngine;
using Clock = std::chrono::steady_clock;

torch::Tensor read_raw(const std::string& path, torch::IntArrayRef shape) {
  auto t = torch::empty(shape, torch::kFloat32);
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(t.data_ptr<float>()),
          static_cast<std::streamsize>(t.numel() * sizeof(float)));
  if (!in) throw std::runtime_error("cannot read " + path);
  return t;
}

// The BLAS library mapped into this process (what LibTorch's im2col path calls).
std::string loaded_blas() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    for (const char* key : {"libopenblas", "libblis", "libblas", "libmkl"}) {
      const auto pos = line.find('/');
      if (line.find(key) != std::string::npos && pos != std::string::npos) {
        return line.substr(pos);
      }
    }
  }
  return "unknown";
}

std::string times_json(const std::vector<double>& ts) {
  std::ostringstream o;
  o << "[";
  for (std::size_t i = 0; i < ts.size(); ++i)
    o << (i ? "," : "") << ts[i];
  o << "]";
  return o.str();
}

struct State {
  MscredNet net{nullptr};
  std::unique_ptr<StreamEngine> engine;
  torch::Tensor steps;  // [streams, L, 3, n, n]
  torch::Tensor x;      // [B, 5, 3, n, n]
  torch::Tensor last_stream_out;
  std::int64_t n = 0;
  std::int64_t next_step = 0;  // stream position (window start) of the next stream call
  std::int64_t next_eval = 0;  // window start of the next eval call's first window
  std::int64_t last_start = 0;
  bool mkldnn = false;  // set in main() by the daemon's default policy (OneDnn::kAuto)
};

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  torch::set_num_threads(threads);
  State s;
  // What the daemon, `mscred train` and `mscred eval` do by default (worker.onednn auto).
  s.mkldnn = mscred::model::onednn_in_effect(mscred::model::OneDnn::kAuto, threads);
  std::cout << "{\"ready\": true, \"torch_threads\": " << torch::get_num_threads()
            << ", \"blas\": \"" << loaded_blas()
            << "\", \"mkldnn\": " << (torch::hasMKLDNN() ? "true" : "false")
            << ", \"onednn_default\": " << (s.mkldnn ? "true" : "false") << "}" << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string cmd;
    in >> cmd;
    try {
      if (cmd == "quit") break;
      if (cmd == "profile") {
        // profile <batch> <reps> <trace.json>: streaming calls under the autograd profiler.
        std::int64_t batch = 1;
        int reps = 1;
        std::string path;
        in >> batch >> reps >> path;
        torch::NoGradGuard no_grad;
        std::vector<std::uint64_t> ids(static_cast<std::size_t>(batch));
        for (std::size_t i = 0; i < ids.size(); ++i)
          ids[i] = i;
        {
          torch::autograd::profiler::RecordProfile guard(path);
          for (int r = 0; r < reps; ++r) {
            if (s.next_step + 5 > s.steps.size(1)) s.next_step = 0;
            auto w = s.steps.narrow(0, 0, batch).narrow(1, s.next_step++, 5).contiguous();
            s.engine->reconstruct(w.data_ptr<float>(), static_cast<std::size_t>(batch), ids.data());
          }
        }
        std::cout << "{\"profiled\": " << reps << "}" << std::endl;
        continue;
      }
      if (cmd == "profile_train") {
        std::int64_t batch = 1;
        int reps = 1;
        std::string path;
        in >> batch >> reps >> path;
        s.net->train();
        torch::optim::Adam opt(s.net->parameters(), torch::optim::AdamOptions(2e-4));
        auto x = s.x.narrow(0, 0, batch);
        auto target = x.select(1, 4);
        {
          torch::autograd::profiler::RecordProfile guard(path);
          for (int r = 0; r < reps; ++r) {
            auto loss = torch::mse_loss(s.net->forward(x), target);
            opt.zero_grad();
            loss.backward();
            opt.step();
          }
        }
        s.net->eval();
        s.engine->clear();
        std::cout << "{\"profiled\": " << reps << "}" << std::endl;
        continue;
      }
      if (cmd == "mkldnn") {
        int on = 0;
        in >> on;
        s.mkldnn = on != 0;
        if (s.net) s.net->set_mkldnn(s.mkldnn);
        std::cout << "{\"mkldnn\": " << (s.net ? s.net->mkldnn() : s.mkldnn) << "}" << std::endl;
        continue;
      }
      if (cmd == "load") {
        std::int64_t kernel = 3;
        std::string dir;
        in >> s.n >> kernel >> dir;
        ModelConfig c;
        c.n = s.n;
        c.lstm_kernel = kernel;
        s.net = MscredNet(c);
        torch::NoGradGuard no_grad;
        for (auto& p : s.net->named_parameters()) {
          p.value().copy_(read_raw(dir + "/" + p.key() + ".f32", p.value().sizes()));
        }
        s.net->eval();
        s.net->set_mkldnn(s.mkldnn);
        std::int64_t streams = 0;
        std::int64_t length = 0;
        std::int64_t batch = 0;
        std::ifstream meta(dir + "/shape.txt");
        meta >> streams >> length >> batch;
        s.steps = read_raw(dir + "/steps.f32", {streams, length, 3, s.n, s.n});
        s.x = read_raw(dir + "/x.f32", {batch, 5, 3, s.n, s.n});
        s.engine = std::make_unique<StreamEngine>(s.net, torch::kCPU, 4096);
        s.next_step = 0;
        s.next_eval = 0;
        std::cout << "{\"loaded\": " << s.n
                  << ", \"bytes_per_stream\": " << s.engine->bytes_per_stream() << "}" << std::endl;
      } else if (cmd == "fwd" || cmd == "stream" || cmd == "train" || cmd == "train_contig" ||
                 cmd == "eval") {
        std::int64_t batch = 1;
        int reps = 1;
        in >> batch >> reps;
        std::vector<double> ts;
        double max_diff = 0.0;
        if (cmd == "fwd") {
          torch::NoGradGuard no_grad;
          s.net->eval();
          auto x = s.x.narrow(0, 0, batch);
          for (int r = 0; r < reps; ++r) {
            auto t0 = Clock::now();
            auto y = s.net->forward(x);
            ts.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
          }
        } else if (cmd == "stream") {
          torch::NoGradGuard no_grad;
          s.net->eval();
          std::vector<std::uint64_t> ids(static_cast<std::size_t>(batch));
          for (std::size_t i = 0; i < ids.size(); ++i)
            ids[i] = i;
          std::vector<float> windows(static_cast<std::size_t>(batch * 5 * 3 * s.n * s.n));
          for (int r = 0; r < reps; ++r) {
            if (s.next_step + 5 > s.steps.size(1)) s.next_step = 0;  // wraps: one miss
            auto w = s.steps.narrow(0, 0, batch).narrow(1, s.next_step, 5).contiguous();
            s.last_start = s.next_step++;
            auto t0 = Clock::now();
            s.last_stream_out = s.engine->reconstruct(w.data_ptr<float>(),
                                                      static_cast<std::size_t>(batch), ids.data());
            ts.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
            if (r == reps - 1) {
              max_diff = (s.last_stream_out - s.net->forward(w)).abs().max().item<double>();
            }
          }
        } else if (cmd == "eval") {
          torch::NoGradGuard no_grad;
          s.net->eval();
          const std::int64_t length = s.steps.size(1);
          if (batch + 4 > length) throw std::runtime_error("eval: stream too short for the batch");
          std::vector<std::uint64_t> ids(static_cast<std::size_t>(batch), 1u << 20);
          for (int r = 0; r < reps; ++r) {
            if (s.next_eval + batch + 4 > length) s.next_eval = 0;
            auto w = s.steps[0].unfold(0, 5, 1).narrow(0, s.next_eval, batch);  // [B,3,n,n,5]
            w = w.permute({0, 4, 1, 2, 3}).contiguous();
            s.next_eval += batch;
            auto t0 = Clock::now();
            auto y = s.engine->reconstruct(w.data_ptr<float>(), static_cast<std::size_t>(batch),
                                           ids.data());
            ts.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
            if (r == reps - 1) max_diff = (y - s.net->forward(w)).abs().max().item<double>();
          }
        } else if (cmd == "train_contig") {
          s.net->train();
          torch::optim::Adam opt(s.net->parameters(), torch::optim::AdamOptions(2e-4));
          if (batch + 4 > s.steps.size(1)) {
            throw std::runtime_error("train_contig: stream too short for the batch");
          }
          auto x = s.steps[0].unfold(0, 5, 1).narrow(0, 0, batch).permute({0, 4, 1, 2, 3});
          x = x.contiguous();
          auto target = x.select(1, 4);
          for (int r = 0; r < reps; ++r) {
            auto t0 = Clock::now();
            auto shared = mscred::model::share_consecutive_steps(x, s.net->input_steps());
            auto loss = torch::mse_loss(s.net->forward_steps(shared.steps, shared.index), target);
            opt.zero_grad();
            loss.backward();
            opt.step();
            ts.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
          }
          s.net->eval();
          s.engine->clear();
        } else {
          s.net->train();
          torch::optim::Adam opt(s.net->parameters(), torch::optim::AdamOptions(2e-4));
          auto x = s.x.narrow(0, 0, batch);
          auto target = x.select(1, 4);
          for (int r = 0; r < reps; ++r) {
            auto t0 = Clock::now();
            auto loss = torch::mse_loss(s.net->forward(x), target);
            opt.zero_grad();
            loss.backward();
            opt.step();
            ts.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
          }
          s.net->eval();
          s.engine->clear();  // the weights moved: cached gates are stale
        }
        const auto& st = s.engine->stats();
        std::cout << "{\"times\": " << times_json(ts) << ", \"max_diff_vs_plain\": " << max_diff
                  << ", \"hits\": " << st.hits << ", \"misses\": " << st.misses << "}" << std::endl;
      } else if (cmd == "out") {
        std::string path;
        in >> path;
        auto y = s.last_stream_out.contiguous();
        std::ofstream o(path, std::ios::binary);
        o.write(reinterpret_cast<const char*>(y.data_ptr<float>()),
                static_cast<std::streamsize>(y.numel() * sizeof(float)));
        std::cout << "{\"written\": " << y.numel() << ", \"start\": " << s.last_start << "}"
                  << std::endl;
      } else {
        std::cout << "{\"error\": \"unknown command " << cmd << "\"}" << std::endl;
      }
    } catch (const std::exception& e) {
      std::string msg = e.what();
      for (auto& ch : msg)
        if (ch == '"' || ch == '\n' || ch == '\\') ch = ' ';
      std::cout << "{\"error\": \"" << msg.substr(0, 300) << "\"}" << std::endl;
    }
  }
  return 0;
}
