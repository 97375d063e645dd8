// The libtorch worker of recur-bench (bench/worker.hpp): torch::nn::LSTM / torch::nn::GRU
// (batch_first), and torch::nn::LSTMCell / GRUCell for streaming.
// LSTM weights: PyTorch's weight_ih (4U, F) is the transposed Keras kernel with the same gate
// order (i, f, g, o); bias_ih = Keras bias, bias_hh = 0.
// GRU: only Keras's reset_after=True form (PyTorch's n = tanh(W_in x + b_in + r * (W_hn h +
// b_hn))); gru_v1 is not served. PyTorch's gate order is r, z, n against Keras's z, r, h, so the
// first two column blocks swap: weight_ih = [kernel_r | kernel_z | kernel_h]^T, bias_ih = Keras
// bias row 0 (input), bias_hh = row 1 (recurrent), each with z and r swapped.
//   fwd     forward under NoGradGuard
//   fwd_tr  forward recording the autograd graph
//   bwd     y.backward(dy) on the last fwd_tr graph (retain_graph), gradients zeroed first
//   fwdbwd  zero_grad, forward, backward
// Threads: BENCH_TORCH_THREADS for torch's own (OpenMP) kernels; its GEMMs go to the system
// BLAS (OpenBLAS), whose threads OPENBLAS_NUM_THREADS sets.
#include <torch/torch.h>

#include <cstdlib>
#include <stdexcept>

#include "worker.hpp"

namespace {

torch::Tensor tensor(const std::vector<float>& v, std::vector<int64_t> shape) {
  return torch::from_blob(const_cast<float*>(v.data()), shape, torch::kFloat32).clone();
}

std::vector<float> flat(const torch::Tensor& t) {
  auto c = t.contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

// Swaps the z and r column blocks of a (rows, 3U) tensor: Keras's z, r, h <-> PyTorch's r, z, n.
torch::Tensor swap_zr(const torch::Tensor& w, int64_t U) {
  return torch::cat({w.narrow(1, U, U), w.narrow(1, 0, U), w.narrow(1, 2 * U, U)}, 1);
}

void unsupported(const bench::Data& d) {
  if (d.cfg.cell == bench::Cell::kGruV1)
    throw std::runtime_error("libtorch has no GRU with reset_after=False (gru_v1)");
}

class LibtorchWorker : public bench::Worker {
 public:
  LibtorchWorker() {
    const char* th = std::getenv("BENCH_TORCH_THREADS");
    torch::set_num_threads(th ? std::atoi(th) : 1);
  }
  void setup(const bench::Data& d) override {
    unsupported(d);
    const auto& c = d.cfg;
    const int64_t B = c.batch, T = c.timesteps, F = c.features, U = c.units;
    cell_kind_ = c.cell;
    U_ = U;
    lstm_ = nullptr;
    gru_ = nullptr;
    torch::NoGradGuard ng;  // for the copies; x_ below is a leaf that requires grad all the same
    if (cell_kind_ == bench::Cell::kLstm) {
      lstm_ = torch::nn::LSTM(torch::nn::LSTMOptions(F, U).batch_first(true));
      params_ = lstm_->named_parameters();
      params_["weight_ih_l0"].copy_(tensor(d.kernel, {F, 4 * U}).t());
      params_["weight_hh_l0"].copy_(tensor(d.recurrent_kernel, {U, 4 * U}).t());
      params_["bias_ih_l0"].copy_(tensor(d.bias, {4 * U}));
      params_["bias_hh_l0"].zero_();
    } else {
      gru_ = torch::nn::GRU(torch::nn::GRUOptions(F, U).batch_first(true));
      params_ = gru_->named_parameters();
      params_["weight_ih_l0"].copy_(swap_zr(tensor(d.kernel, {F, 3 * U}), U).t());
      params_["weight_hh_l0"].copy_(swap_zr(tensor(d.recurrent_kernel, {U, 3 * U}), U).t());
      const auto bias = swap_zr(tensor(d.bias, {2, 3 * U}), U);
      params_["bias_ih_l0"].copy_(bias[0]);
      params_["bias_hh_l0"].copy_(bias[1]);
    }
    x_ = tensor(d.x, {B, T, F}).requires_grad_(true);
    dy_ = tensor(d.dy, {B, T, U});
  }
  void run(bench::Mode m) override {
    switch (m) {
      case bench::Mode::kForward: {
        torch::NoGradGuard ng;
        y_ = forward();
        break;
      }
      case bench::Mode::kForwardTraining: y_ = forward(); break;
      case bench::Mode::kBackward:
        zero();
        y_.backward(dy_, /*retain_graph=*/true);
        break;
      default:
        zero();
        y_ = forward();
        y_.backward(dy_);
    }
  }
  void check(bench::Outputs& o) override {
    run(bench::Mode::kForwardBackward);
    auto& p = params_;
    o.y = flat(y_.detach());
    o.dx = flat(x_.grad());
    if (cell_kind_ == bench::Cell::kLstm) {
      o.dkernel = flat(p["weight_ih_l0"].grad().t());
      o.drecurrent_kernel = flat(p["weight_hh_l0"].grad().t());
      o.dbias = flat(p["bias_ih_l0"].grad());
    } else {
      o.dkernel = flat(swap_zr(p["weight_ih_l0"].grad().t(), U_));
      o.drecurrent_kernel = flat(swap_zr(p["weight_hh_l0"].grad().t(), U_));
      o.dbias = flat(swap_zr(
          torch::stack({p["bias_ih_l0"].grad(), p["bias_hh_l0"].grad()}), U_));
    }
  }
  bool stream_setup(const bench::Data& d) override {
    if (d.cfg.cell == bench::Cell::kGruV1) return false;
    const int64_t F = d.cfg.features, U = d.cfg.units;
    cell_kind_ = d.cfg.cell;
    lstm_cell_ = nullptr;
    gru_cell_ = nullptr;
    torch::NoGradGuard ng;
    if (cell_kind_ == bench::Cell::kLstm) {
      lstm_cell_ = torch::nn::LSTMCell(torch::nn::LSTMCellOptions(F, U));
      lstm_cell_->weight_ih.copy_(tensor(d.kernel, {F, 4 * U}).t());
      lstm_cell_->weight_hh.copy_(tensor(d.recurrent_kernel, {U, 4 * U}).t());
      lstm_cell_->bias_ih.copy_(tensor(d.bias, {4 * U}));
      lstm_cell_->bias_hh.zero_();
    } else {
      gru_cell_ = torch::nn::GRUCell(torch::nn::GRUCellOptions(F, U));
      gru_cell_->weight_ih.copy_(swap_zr(tensor(d.kernel, {F, 3 * U}), U).t());
      gru_cell_->weight_hh.copy_(swap_zr(tensor(d.recurrent_kernel, {U, 3 * U}), U).t());
      const auto bias = swap_zr(tensor(d.bias, {2, 3 * U}), U);
      gru_cell_->bias_ih.copy_(bias[0]);
      gru_cell_->bias_hh.copy_(bias[1]);
    }
    xs_ = tensor(d.x, {static_cast<int64_t>(d.cfg.timesteps), 1, F});
    steps_ = static_cast<int64_t>(d.cfg.timesteps);
    h_ = torch::zeros({1, U});
    c_ = torch::zeros({1, U});
    return true;
  }
  void stream_step() override {
    torch::NoGradGuard ng;
    const auto x = xs_[t_++ % steps_];
    if (lstm_cell_) std::tie(h_, c_) = lstm_cell_->forward(x, std::make_tuple(h_, c_));
    else h_ = gru_cell_->forward(x, h_);
  }

 private:
  torch::Tensor forward() {
    return lstm_ ? std::get<0>(lstm_->forward(x_)) : std::get<0>(gru_->forward(x_));
  }
  void zero() {
    for (auto& p : params_.values())
      if (p.grad().defined()) p.grad().zero_();
    if (x_.grad().defined()) x_.grad().zero_();
  }
  bench::Cell cell_kind_ = bench::Cell::kLstm;
  int64_t U_ = 0;
  torch::nn::LSTM lstm_{nullptr};
  torch::nn::GRU gru_{nullptr};
  torch::OrderedDict<std::string, torch::Tensor> params_;
  torch::nn::LSTMCell lstm_cell_{nullptr};
  torch::nn::GRUCell gru_cell_{nullptr};
  torch::Tensor x_, dy_, y_, xs_, h_, c_;
  int64_t steps_ = 1, t_ = 0;
};

}  // namespace

int main() {
  LibtorchWorker w;
  return bench::serve(w);
}
