// The oneDNN worker of recur-bench (bench/worker.hpp): oneDNN's RNN primitives, f32,
// unidirectional, one layer, time-major (tnc) data, zero initial state:
//   lstm    vanilla_lstm (lstm_forward / lstm_backward)
//   gru     lbr_gru (linear-before-reset, = Keras reset_after=True, PyTorch's and cuDNN's GRU)
//   gru_v1  vanilla_gru (= Keras reset_after=False)
// Modes:
//   fwd     forward_inference, weights reordered to the primitive's layout at setup
//   fwd_tr  forward_training (fills the workspace backward reads)
//   bwd     backward, with the zeroing of the weight gradients (oneDNN accumulates) and
//           the reorder of the weights into the backward layout, as a training step needs
//   fwdbwd  fwd_tr + bwd
// Layouts (oneDNN's dev_guide_rnn): ldigo weights are Keras's (F, G) kernel as is, because the
// gate orders agree: LSTM i, f, c, o; GRU u, r, o = Keras's z, r, h. The ldgo bias is Keras's
// bias for LSTM and vanilla GRU. lbr_gru's bias has 4 rows u, r, o, u' with
//   o = tanh(W_o x + B_o + r * (U_o h + B_u'))
// so from Keras's (2, 3U) [input bias; recurrent bias]: B_u = b_in_z + b_rec_z, B_r = b_in_r +
// b_rec_r, B_o = b_in_h, B_u' = b_rec_h; the gradient goes back as dB_u to both z entries, dB_r
// to both r entries, dB_o to b_in_h and dB_u' to b_rec_h. x and dy are transposed to tnc at
// setup (not timed).
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

// Keras's bias -> oneDNN's: the same for LSTM and vanilla GRU, 4 rows for lbr_gru (see top).
std::vector<float> onednn_bias(const bench::Data& d) {
  if (d.cfg.cell != bench::Cell::kGru) return d.bias;
  const std::size_t U = d.cfg.units, G = 3 * U;
  const float* in = d.bias.data();  // row 0: input bias z, r, h
  const float* rec = in + G;        // row 1: recurrent bias z, r, h
  std::vector<float> b(4 * U);
  for (std::size_t j = 0; j < U; ++j) {
    b[j] = in[j] + rec[j];                  // u
    b[U + j] = in[U + j] + rec[U + j];      // r
    b[2 * U + j] = in[2 * U + j];           // o
    b[3 * U + j] = rec[2 * U + j];          // u'
  }
  return b;
}

// oneDNN's bias gradient -> Keras's (the transpose of onednn_bias).
std::vector<float> keras_dbias(const std::vector<float>& db, bench::Cell cell, std::size_t U) {
  if (cell != bench::Cell::kGru) return db;
  const std::size_t G = 3 * U;
  std::vector<float> out(2 * G);
  for (std::size_t j = 0; j < U; ++j) {
    out[j] = out[G + j] = db[j];                  // z: input and recurrent
    out[U + j] = out[G + U + j] = db[U + j];      // r
    out[2 * U + j] = db[2 * U + j];               // h: input (B_o)
    out[G + 2 * U + j] = db[3 * U + j];           // h: recurrent (B_u')
  }
  return out;
}

// The inference, training and backward primitive descriptors of one cell kind. `fwd(prop)`
// makes the forward op descriptor, `bwd()` the backward one.
struct Pds {
  rnn_primitive_desc_base inf, fwd, bwd;
};
template <class Fwd, class Bwd, class FwdDesc, class BwdDesc>
Pds make_pds(const engine& eng, FwdDesc fwd, BwdDesc bwd) {
  typename Fwd::primitive_desc ipd(fwd(prop_kind::forward_inference), eng);
  typename Fwd::primitive_desc fpd(fwd(prop_kind::forward_training), eng);
  typename Bwd::primitive_desc bpd(bwd(), eng, fpd);
  return {ipd, fpd, bpd};
}

class OneDnnWorker : public bench::Worker {
 public:
  void setup(const bench::Data& d) override {
    const auto& c = d.cfg;
    cell_ = c.cell;
    B_ = c.batch, T_ = c.timesteps, F_ = c.features, U_ = c.units;
    const bool lstm = cell_ == bench::Cell::kLstm;
    const memory::dim T = T_, N = B_, I = F_, H = U_;
    const memory::dim G = static_cast<memory::dim>(bench::gate_count(cell_));
    const memory::dim bias_rows = cell_ == bench::Cell::kGru ? 4 : G;
    auto src_md = memory::desc({T, N, I}, dt::f32, tag::tnc);
    auto dst_md = memory::desc({T, N, H}, dt::f32, tag::tnc);
    wl_md_ = memory::desc({1, 1, I, G, H}, dt::f32, tag::ldigo);
    wi_md_ = memory::desc({1, 1, H, G, H}, dt::f32, tag::ldigo);
    b_md_ = memory::desc({1, 1, bias_rows, H}, dt::f32, tag::ldgo);
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
    bias_ = user_mem(b_md_, eng_, onednn_bias(d).data());

    const auto l2r = rnn_direction::unidirectional_left2right;
    Pds pds;
    switch (cell_) {
      case bench::Cell::kLstm:
        pds = make_pds<lstm_forward, lstm_backward>(
            eng_,
            [&](prop_kind pk) {
              return lstm_forward::desc(pk, l2r, src_md, iter_md, iter_md, wl_any, wi_any, b_md_,
                                        dst_md, none, none);
            },
            [&] {
              return lstm_backward::desc(prop_kind::backward, l2r, src_md, iter_md, iter_md,
                                         wl_any, wi_any, b_md_, dst_md, none, none, src_md,
                                         iter_md, iter_md, wl_any, wi_any, b_md_, dst_md, none,
                                         none);
            });
        break;
      case bench::Cell::kGru:
        pds = make_pds<lbr_gru_forward, lbr_gru_backward>(
            eng_,
            [&](prop_kind pk) {
              return lbr_gru_forward::desc(pk, l2r, src_md, iter_md, wl_any, wi_any, b_md_,
                                           dst_md, none);
            },
            [&] {
              return lbr_gru_backward::desc(prop_kind::backward, l2r, src_md, iter_md, wl_any,
                                            wi_any, b_md_, dst_md, none, src_md, iter_md, wl_any,
                                            wi_any, b_md_, dst_md, none);
            });
        break;
      case bench::Cell::kGruV1:
        pds = make_pds<gru_forward, gru_backward>(
            eng_,
            [&](prop_kind pk) {
              return gru_forward::desc(pk, l2r, src_md, iter_md, wl_any, wi_any, b_md_, dst_md,
                                       none);
            },
            [&] {
              return gru_backward::desc(prop_kind::backward, l2r, src_md, iter_md, wl_any,
                                        wi_any, b_md_, dst_md, none, src_md, iter_md, wl_any,
                                        wi_any, b_md_, dst_md, none);
            });
        break;
    }

    wl_i_ = memory(pds.inf.weights_layer_desc(), eng_);
    wi_i_ = memory(pds.inf.weights_iter_desc(), eng_);
    reorder(wl_user_, wl_i_).execute(s_, wl_user_, wl_i_);
    reorder(wi_user_, wi_i_).execute(s_, wi_user_, wi_i_);
    inf_ = primitive(pds.inf);
    inf_args_ = {{DNNL_ARG_SRC_LAYER, src_},       {DNNL_ARG_SRC_ITER, h0_},
                 {DNNL_ARG_WEIGHTS_LAYER, wl_i_},  {DNNL_ARG_WEIGHTS_ITER, wi_i_},
                 {DNNL_ARG_BIAS, bias_},           {DNNL_ARG_DST_LAYER, dst_}};

    wl_f_ = memory(pds.fwd.weights_layer_desc(), eng_);
    wi_f_ = memory(pds.fwd.weights_iter_desc(), eng_);
    reorder(wl_user_, wl_f_).execute(s_, wl_user_, wl_f_);
    reorder(wi_user_, wi_f_).execute(s_, wi_user_, wi_f_);
    ws_ = memory(pds.fwd.workspace_desc(), eng_);
    fwd_ = primitive(pds.fwd);
    fwd_args_ = {{DNNL_ARG_SRC_LAYER, src_},      {DNNL_ARG_SRC_ITER, h0_},
                 {DNNL_ARG_WEIGHTS_LAYER, wl_f_}, {DNNL_ARG_WEIGHTS_ITER, wi_f_},
                 {DNNL_ARG_BIAS, bias_},          {DNNL_ARG_DST_LAYER, dst_},
                 {DNNL_ARG_WORKSPACE, ws_}};

    bpd_ = pds.bwd;
    wl_b_ = memory(bpd_.weights_layer_desc(), eng_);
    wi_b_ = memory(bpd_.weights_iter_desc(), eng_);
    dwl_ = memory(bpd_.diff_weights_layer_desc(), eng_);
    dwi_ = memory(bpd_.diff_weights_iter_desc(), eng_);
    dbias_ = memory(bpd_.diff_bias_desc(), eng_);
    dsrc_ = memory(bpd_.diff_src_layer_desc(), eng_);
    rl_ = reorder(wl_f_, wl_b_);
    ri_ = reorder(wi_f_, wi_b_);
    bwd_ = primitive(bpd_);
    bwd_args_ = {{DNNL_ARG_SRC_LAYER, src_},          {DNNL_ARG_WEIGHTS_LAYER, wl_b_},
                 {DNNL_ARG_WEIGHTS_ITER, wi_b_},      {DNNL_ARG_BIAS, bias_},
                 {DNNL_ARG_DST_LAYER, dst_},          {DNNL_ARG_DIFF_SRC_LAYER, dsrc_},
                 {DNNL_ARG_DIFF_WEIGHTS_LAYER, dwl_}, {DNNL_ARG_DIFF_WEIGHTS_ITER, dwi_},
                 {DNNL_ARG_DIFF_BIAS, dbias_},        {DNNL_ARG_DIFF_DST_LAYER, ddst_},
                 {DNNL_ARG_WORKSPACE, ws_},           {DNNL_ARG_SRC_ITER, h0_},
                 {DNNL_ARG_DIFF_SRC_ITER, dh0_}};
    if (lstm) {  // the cell state c
      inf_args_.insert({DNNL_ARG_SRC_ITER_C, c0_});
      fwd_args_.insert({DNNL_ARG_SRC_ITER_C, c0_});
      bwd_args_.insert({DNNL_ARG_SRC_ITER_C, c0_});
      bwd_args_.insert({DNNL_ARG_DIFF_SRC_ITER_C, dc0_});
    }
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
    const std::size_t G = bench::gate_count(cell_) * U_;
    o.y = from_tnc(static_cast<float*>(dst_.get_data_handle()), B_, T_, U_);
    o.dx = from_tnc(static_cast<float*>(dsrc_.get_data_handle()), B_, T_, F_);
    o.dkernel = plain(dwl_, wl_md_, F_ * G);
    o.drecurrent_kernel = plain(dwi_, wi_md_, U_ * G);
    o.dbias = keras_dbias(plain(dbias_, b_md_, b_md_.get_size() / sizeof(float)), cell_, U_);
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
  bench::Cell cell_ = bench::Cell::kLstm;
  std::size_t B_ = 0, T_ = 0, F_ = 0, U_ = 0;
  memory::desc wl_md_, wi_md_, b_md_;
  memory h0_, c0_, dh0_, dc0_, src_, dst_, ddst_, wl_user_, wi_user_, bias_, wl_i_, wi_i_, wl_f_,
      wi_f_, ws_, wl_b_, wi_b_, dwl_, dwi_, dbias_, dsrc_;
  primitive inf_, fwd_, bwd_;
  rnn_primitive_desc_base bpd_;
  reorder rl_, ri_;
  std::unordered_map<int, memory> inf_args_, fwd_args_, bwd_args_;
};

}  // namespace

int main() {
  OneDnnWorker w;
  return bench::serve(w);
}
