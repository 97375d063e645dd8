// The libtorch worker of recur-bench (bench/worker.hpp): torch::nn::LSTM (batch_first), and
// torch::nn::LSTMCell for streaming. Weights: PyTorch's weight_ih (4U, F) is the transposed
// Keras kernel with the same gate order (i, f, g, o); bias_ih = Keras bias, bias_hh = 0.
//   fwd     forward under NoGradGuard
//   fwd_tr  forward recording the autograd graph
//   bwd     y.backward(dy) on the last fwd_tr graph (retain_graph), gradients zeroed first
//   fwdbwd  zero_grad, forward, backward
// Threads: BENCH_TORCH_THREADS for torch's own (OpenMP) kernels; its GEMMs go to the system
// BLAS (OpenBLAS), whose threads OPENBLAS_NUM_THREADS sets.
#include <torch/torch.h>

#include <cstdlib>

#include "worker.hpp"

namespace {

torch::Tensor tensor(const std::vector<float>& v, std::vector<int64_t> shape) {
  return torch::from_blob(const_cast<float*>(v.data()), shape, torch::kFloat32).clone();
}

std::vector<float> flat(const torch::Tensor& t) {
  auto c = t.contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

class LibtorchWorker : public bench::Worker {
 public:
  LibtorchWorker() {
    const char* th = std::getenv("BENCH_TORCH_THREADS");
    torch::set_num_threads(th ? std::atoi(th) : 1);
  }
  void setup(const bench::Data& d) override {
    const auto& c = d.cfg;
    const int64_t B = c.batch, T = c.timesteps, F = c.features, U = c.units;
    lstm_ = torch::nn::LSTM(torch::nn::LSTMOptions(F, U).batch_first(true));
    {
      torch::NoGradGuard ng;
      lstm_->named_parameters()["weight_ih_l0"].copy_(tensor(d.kernel, {F, 4 * U}).t());
      lstm_->named_parameters()["weight_hh_l0"].copy_(tensor(d.recurrent_kernel, {U, 4 * U}).t());
      lstm_->named_parameters()["bias_ih_l0"].copy_(tensor(d.bias, {4 * U}));
      lstm_->named_parameters()["bias_hh_l0"].zero_();
    }
    x_ = tensor(d.x, {B, T, F}).requires_grad_(true);
    dy_ = tensor(d.dy, {B, T, U});
  }
  void run(bench::Mode m) override {
    switch (m) {
      case bench::Mode::kForward: {
        torch::NoGradGuard ng;
        y_ = std::get<0>(lstm_->forward(x_));
        break;
      }
      case bench::Mode::kForwardTraining: y_ = std::get<0>(lstm_->forward(x_)); break;
      case bench::Mode::kBackward:
        zero();
        y_.backward(dy_, /*retain_graph=*/true);
        break;
      default:
        zero();
        y_ = std::get<0>(lstm_->forward(x_));
        y_.backward(dy_);
    }
  }
  void check(bench::Outputs& o) override {
    run(bench::Mode::kForwardBackward);
    auto p = lstm_->named_parameters();
    o.y = flat(y_.detach());
    o.dx = flat(x_.grad());
    o.dkernel = flat(p["weight_ih_l0"].grad().t());
    o.drecurrent_kernel = flat(p["weight_hh_l0"].grad().t());
    o.dbias = flat(p["bias_ih_l0"].grad());
  }
  bool stream_setup(const bench::Data& d) override {
    const int64_t F = d.cfg.features, U = d.cfg.units;
    cell_ = torch::nn::LSTMCell(torch::nn::LSTMCellOptions(F, U));
    torch::NoGradGuard ng;
    cell_->weight_ih.copy_(tensor(d.kernel, {F, 4 * U}).t());
    cell_->weight_hh.copy_(tensor(d.recurrent_kernel, {U, 4 * U}).t());
    cell_->bias_ih.copy_(tensor(d.bias, {4 * U}));
    cell_->bias_hh.zero_();
    xs_ = tensor(d.x, {static_cast<int64_t>(d.cfg.timesteps), 1, F});
    steps_ = d.cfg.timesteps;
    h_ = torch::zeros({1, U});
    c_ = torch::zeros({1, U});
    return true;
  }
  void stream_step() override {
    torch::NoGradGuard ng;
    std::tie(h_, c_) = cell_->forward(xs_[t_++ % steps_], std::make_tuple(h_, c_));
  }

 private:
  void zero() {
    for (auto& p : lstm_->parameters())
      if (p.grad().defined()) p.grad().zero_();
    if (x_.grad().defined()) x_.grad().zero_();
  }
  torch::nn::LSTM lstm_{nullptr};
  torch::nn::LSTMCell cell_{nullptr};
  torch::Tensor x_, dy_, y_, xs_, h_, c_;
  int64_t steps_ = 1, t_ = 0;
};

}  // namespace

int main() {
  LibtorchWorker w;
  return bench::serve(w);
}
