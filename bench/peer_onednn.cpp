// The oneDNN worker of recur-bench (bench/worker.hpp): oneDNN's vanilla LSTM primitive, f32,
// unidirectional, one layer, time-major (tnc) data, zero initial state.
//   fwd     forward_inference, weights reordered to the primitive's layout at setup
//   fwd_tr  forward_training (fills the workspace backward reads)
//   bwd     lstm_backward, with the zeroing of the weight gradients (oneDNN accumulates) and
//           the reorder of the weights into the backward layout, as a training step needs
//   fwdbwd  fwd_tr + bwd
// Layouts: oneDNN's ldigo weights with gates i, f, c, o are Keras's (F, 4U) layout as is, and
// ldgo bias is Keras's bias; x and dy are transposed to tnc at setup (not timed).
#include <cstring>
#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>

#include "worker.hpp"

namespace {

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

memory user_mem(const memory::desc& md, const engine& eng, const float* src = nullptr) {
  memory m(md, eng);
  if (src) std::memcpy(m.get_data_handle(), src, md.get_size());
  else std::memset(m.get_data_handle(), 0, md.get_size());
  return m;
}

// (B, T, C) <-> (T, B, C)
std::vector<float> to_tnc(const std::vector<float>& v, std::size_t B, std::size_t T,
                          std::size_t C) {
  std::vector<float> out(v.size());
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t t = 0; t < T; ++t)
      std::memcpy(&out[(t * B + b) * C], &v[(b * T + t) * C], C * sizeof(float));
  return out;
}
std::vector<float> from_tnc(const float* v, std::size_t B, std::size_t T, std::size_t C) {
  std::vector<float> out(B * T * C);
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t t = 0; t < T; ++t)
      std::memcpy(&out[(b * T + t) * C], &v[(t * B + b) * C], C * sizeof(float));
  return out;
}

class OneDnnWorker : public bench::Worker {
 public:
  void setup(const bench::Data& d) override {
    const auto& c = d.cfg;
    B_ = c.batch, T_ = c.timesteps, F_ = c.features, U_ = c.units;
    const memory::dim T = T_, N = B_, I = F_, H = U_, G = 4;
    auto src_md = memory::desc({T, N, I}, dt::f32, tag::tnc);
    auto dst_md = memory::desc({T, N, H}, dt::f32, tag::tnc);
    wl_md_ = memory::desc({1, 1, I, G, H}, dt::f32, tag::ldigo);
    wi_md_ = memory::desc({1, 1, H, G, H}, dt::f32, tag::ldigo);
    b_md_ = memory::desc({1, 1, G, H}, dt::f32, tag::ldgo);
    auto wl_any = memory::desc({1, 1, I, G, H}, dt::f32, tag::any);
    auto wi_any = memory::desc({1, 1, H, G, H}, dt::f32, tag::any);
    memory::desc none;
    // An explicit zero initial state: with src_iter left out, oneDNN 2.6's backward computed a
    // wrong drecurrent_kernel here (forward, dx, dkernel and dbias agreed); see BENCHMARKS.md.
    auto iter_md = memory::desc({1, 1, N, H}, dt::f32, tag::ldnc);
    const std::vector<float> zeros(static_cast<std::size_t>(N * H), 0.0f);
    h0_ = user_mem(iter_md, eng_, zeros.data());
    c0_ = user_mem(iter_md, eng_, zeros.data());
    dh0_ = user_mem(iter_md, eng_);
    dc0_ = user_mem(iter_md, eng_);
    const auto x_tnc = to_tnc(d.x, B_, T_, F_), dy_tnc = to_tnc(d.dy, B_, T_, U_);
    src_ = user_mem(src_md, eng_, x_tnc.data());
    dst_ = user_mem(dst_md, eng_);
    ddst_ = user_mem(dst_md, eng_, dy_tnc.data());
    wl_user_ = user_mem(wl_md_, eng_, d.kernel.data());
    wi_user_ = user_mem(wi_md_, eng_, d.recurrent_kernel.data());
    bias_ = user_mem(b_md_, eng_, d.bias.data());

    lstm_forward::desc inf(prop_kind::forward_inference,
                           rnn_direction::unidirectional_left2right, src_md, iter_md, iter_md,
                           wl_any, wi_any, b_md_, dst_md, none, none);
    lstm_forward::primitive_desc ipd(inf, eng_);
    wl_i_ = memory(ipd.weights_layer_desc(), eng_);
    wi_i_ = memory(ipd.weights_iter_desc(), eng_);
    reorder(wl_user_, wl_i_).execute(s_, wl_user_, wl_i_);
    reorder(wi_user_, wi_i_).execute(s_, wi_user_, wi_i_);
    inf_ = lstm_forward(ipd);
    inf_args_ = {{DNNL_ARG_SRC_LAYER, src_}, {DNNL_ARG_SRC_ITER, h0_}, {DNNL_ARG_SRC_ITER_C, c0_},
                 {DNNL_ARG_WEIGHTS_LAYER, wl_i_},
                 {DNNL_ARG_WEIGHTS_ITER, wi_i_}, {DNNL_ARG_BIAS, bias_},
                 {DNNL_ARG_DST_LAYER, dst_}};

    lstm_forward::desc fd(prop_kind::forward_training, rnn_direction::unidirectional_left2right,
                          src_md, iter_md, iter_md, wl_any, wi_any, b_md_, dst_md, none, none);
    lstm_forward::primitive_desc fpd(fd, eng_);
    wl_f_ = memory(fpd.weights_layer_desc(), eng_);
    wi_f_ = memory(fpd.weights_iter_desc(), eng_);
    reorder(wl_user_, wl_f_).execute(s_, wl_user_, wl_f_);
    reorder(wi_user_, wi_f_).execute(s_, wi_user_, wi_f_);
    ws_ = memory(fpd.workspace_desc(), eng_);
    fwd_ = lstm_forward(fpd);
    fwd_args_ = {{DNNL_ARG_SRC_LAYER, src_},     {DNNL_ARG_SRC_ITER, h0_},
                 {DNNL_ARG_SRC_ITER_C, c0_},     {DNNL_ARG_WEIGHTS_LAYER, wl_f_},
                 {DNNL_ARG_WEIGHTS_ITER, wi_f_}, {DNNL_ARG_BIAS, bias_},
                 {DNNL_ARG_DST_LAYER, dst_},     {DNNL_ARG_WORKSPACE, ws_}};

    lstm_backward::desc bd(prop_kind::backward, rnn_direction::unidirectional_left2right, src_md,
                           iter_md, iter_md, wl_any, wi_any, b_md_, dst_md, none, none, src_md,
                           iter_md, iter_md, wl_any, wi_any, b_md_, dst_md, none, none);
    bpd_ = lstm_backward::primitive_desc(bd, eng_, fpd);
    wl_b_ = memory(bpd_.weights_layer_desc(), eng_);
    wi_b_ = memory(bpd_.weights_iter_desc(), eng_);
    dwl_ = memory(bpd_.diff_weights_layer_desc(), eng_);
    dwi_ = memory(bpd_.diff_weights_iter_desc(), eng_);
    dbias_ = memory(bpd_.diff_bias_desc(), eng_);
    dsrc_ = memory(bpd_.diff_src_layer_desc(), eng_);
    rl_ = reorder(wl_f_, wl_b_);
    ri_ = reorder(wi_f_, wi_b_);
    bwd_ = lstm_backward(bpd_);
    bwd_args_ = {{DNNL_ARG_SRC_LAYER, src_},          {DNNL_ARG_WEIGHTS_LAYER, wl_b_},
                 {DNNL_ARG_WEIGHTS_ITER, wi_b_},      {DNNL_ARG_BIAS, bias_},
                 {DNNL_ARG_DST_LAYER, dst_},          {DNNL_ARG_DIFF_SRC_LAYER, dsrc_},
                 {DNNL_ARG_DIFF_WEIGHTS_LAYER, dwl_}, {DNNL_ARG_DIFF_WEIGHTS_ITER, dwi_},
                 {DNNL_ARG_DIFF_BIAS, dbias_},        {DNNL_ARG_DIFF_DST_LAYER, ddst_},
                 {DNNL_ARG_WORKSPACE, ws_},           {DNNL_ARG_SRC_ITER, h0_},
                 {DNNL_ARG_SRC_ITER_C, c0_},          {DNNL_ARG_DIFF_SRC_ITER, dh0_},
                 {DNNL_ARG_DIFF_SRC_ITER_C, dc0_}};
    s_.wait();
  }
  void run(bench::Mode m) override {
    switch (m) {
      case bench::Mode::kForward: inf_.execute(s_, inf_args_); break;
      case bench::Mode::kForwardTraining: fwd_.execute(s_, fwd_args_); break;
      case bench::Mode::kBackward: backward(); break;
      default:
        fwd_.execute(s_, fwd_args_);
        backward();
    }
    s_.wait();
  }
  void check(bench::Outputs& o) override {
    run(bench::Mode::kForwardBackward);
    o.y = from_tnc(static_cast<float*>(dst_.get_data_handle()), B_, T_, U_);
    o.dx = from_tnc(static_cast<float*>(dsrc_.get_data_handle()), B_, T_, F_);
    o.dkernel = plain(dwl_, wl_md_, F_ * 4 * U_);
    o.drecurrent_kernel = plain(dwi_, wi_md_, U_ * 4 * U_);
    o.dbias = plain(dbias_, b_md_, 4 * U_);
  }
  bool stream_setup(const bench::Data&) override { return false; }
  void stream_step() override {}

 private:
  void backward() {
    std::memset(dwl_.get_data_handle(), 0, bpd_.diff_weights_layer_desc().get_size());
    std::memset(dwi_.get_data_handle(), 0, bpd_.diff_weights_iter_desc().get_size());
    std::memset(dbias_.get_data_handle(), 0, bpd_.diff_bias_desc().get_size());
    rl_.execute(s_, wl_f_, wl_b_);
    ri_.execute(s_, wi_f_, wi_b_);
    bwd_.execute(s_, bwd_args_);
  }
  // A gradient in its primitive's layout, reordered to the plain (Keras) one.
  std::vector<float> plain(memory& m, const memory::desc& md, std::size_t n) {
    memory out(md, eng_);
    reorder(m, out).execute(s_, m, out);
    s_.wait();
    const float* p = static_cast<const float*>(out.get_data_handle());
    return std::vector<float>(p, p + n);
  }

  engine eng_{engine::kind::cpu, 0};
  stream s_{eng_};
  std::size_t B_ = 0, T_ = 0, F_ = 0, U_ = 0;
  memory::desc wl_md_, wi_md_, b_md_;
  memory h0_, c0_, dh0_, dc0_, src_, dst_, ddst_, wl_user_, wi_user_, bias_, wl_i_, wi_i_, wl_f_, wi_f_, ws_, wl_b_,
      wi_b_, dwl_, dwi_, dbias_, dsrc_;
  lstm_forward inf_, fwd_;
  lstm_backward bwd_;
  lstm_backward::primitive_desc bpd_;
  reorder rl_, ri_;
  std::unordered_map<int, memory> inf_args_, fwd_args_, bwd_args_;
};

}  // namespace

int main() {
  OneDnnWorker w;
  return bench::serve(w);
}
