// The time loops of engine/loops.py in C++, for float32 tensors on the CPU (engine/cells.py
// chooses between the two per layer call).
//
// Why: at B=32, H=64 one timestep of an LSTM is ~1 MFLOP of matrix product and ~8k
// element-wise values; the Python loop issues 8 tensor operations per timestep in the
// forward and 6 in the backward, ~5 us of dispatch each, which costs more than the work.
// Here each timestep is one ATen matrix product (the same MKL/oneDNN call the Python
// loop makes) plus one pass over the batch rows that does every element-wise step
// (gates, cell, hidden state and their derivatives) with ATen's SIMD vectors, whose
// exp/tanh are the SLEEF routines PyTorch's own sigmoid/tanh kernels use.
//
// Contract, identical to the torch loops in engine/loops.py (which stay the reference
// and the path for CUDA, float64, and machines without a compiler):
//   xp (T, B, G*H) input projection, h0/c0 (B, H), w_hh (G*H, H), b_hh (G*H); time-major.
// Every function returns new tensors; none writes to its inputs.

#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/cpu/vec/vec.h>
#include <ATen/ops/add.h>
#include <ATen/ops/addmm.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/mm.h>
#include <ATen/ops/zeros_like.h>
#include <c10/util/irange.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <tuple>

namespace rnnscope_recurrence {

using at::Tensor;
using Vec = at::vec::Vectorized<float>;
constexpr int64_t W = Vec::size();

// Batch rows go to several threads once a timestep's element-wise work is this large
// (below it, starting threads costs more than it saves: B=32, H=64 stays on one).
constexpr int64_t kParallelWork = 32768;

template <typename F>
inline void over_rows(int64_t B, int64_t per_row, const F& f) {
  at::parallel_for(0, B, std::max<int64_t>(1, kParallelWork / std::max<int64_t>(per_row, 1)), f);
}

inline Vec sigmoidv(const Vec& x) { return (Vec(1.0f) + x.neg().exp()).reciprocal(); }

// out[j] = sigmoid(in[j]) (in == out allowed). The tail goes through the same SIMD function
// in a partial vector, never through std::exp/std::tanh: which elements fall in the tail
// depends on the vector width (8 or 16 lanes), and a scalar tail made the AVX2 and AVX-512
// builds round those elements differently (engine/numerics.py).
inline void sigmoid_row(const float* in, float* out, int64_t n) {
  int64_t j = 0;
  for (; j + W <= n; j += W) sigmoidv(Vec::loadu(in + j)).store(out + j);
  if (j < n) sigmoidv(Vec::loadu(in + j, n - j)).store(out + j, static_cast<int>(n - j));
}

inline void tanh_row(const float* in, float* out, int64_t n) {
  int64_t j = 0;
  for (; j + W <= n; j += W) Vec::loadu(in + j).tanh().store(out + j);
  if (j < n) Vec::loadu(in + j, n - j).tanh().store(out + j, static_cast<int>(n - j));
}

void check_inputs(const char* op, const Tensor& xp, const Tensor& h0, const Tensor& w_hh, int64_t gates) {
  TORCH_CHECK(xp.device().is_cpu() && xp.scalar_type() == at::kFloat, op, ": float32 CPU tensors only");
  TORCH_CHECK(xp.dim() == 3 && h0.dim() == 2 && w_hh.dim() == 2, op, ": bad ranks");
  const int64_t H = h0.size(1);
  TORCH_CHECK(xp.size(2) == gates * H && w_hh.size(0) == gates * H && w_hh.size(1) == H &&
                  xp.size(1) == h0.size(0),
              op, ": shapes disagree");
}

// The backward ops read their inputs through raw pointers: every shape is checked first.
void check_shape(const char* op, const char* name, const Tensor& t, std::initializer_list<int64_t> sizes) {
  TORCH_CHECK(t.device().is_cpu() && t.scalar_type() == at::kFloat, op, ": ", name, ": float32 CPU tensors only");
  TORCH_CHECK(t.sizes() == at::IntArrayRef(sizes), op, ": shapes disagree (", name, " is ", t.sizes(), ", expected ",
              at::IntArrayRef(sizes), ")");
}

void check_state(const char* op, const Tensor& states) {
  TORCH_CHECK(states.device().is_cpu() && states.scalar_type() == at::kFloat, op, ": float32 CPU tensors only");
  TORCH_CHECK(states.dim() == 3, op, ": states must be (T, B, H), got ", states.sizes());
}

// ---------------------------------------------------------------- tanh RNN

Tensor rnn_forward(const Tensor& xp, const Tensor& h0, const Tensor& w_hh, const Tensor& b_hh) {
  check_inputs("rnn_forward", xp, h0, w_hh, 1);
  const int64_t T = xp.size(0);
  Tensor pre = at::add(xp, b_hh).contiguous();  // new storage: filled in place below
  Tensor hs = at::empty_like(pre);
  const Tensor w_t = w_hh.t();
  Tensor h = h0;
  const int64_t n = pre.size(1) * pre.size(2);
  for (const auto t : c10::irange(T)) {
    Tensor p = pre.select(0, t);
    p.addmm_(h, w_t);
    Tensor h_out = hs.select(0, t);
    tanh_row(p.const_data_ptr<float>(), h_out.mutable_data_ptr<float>(), n);
    h = h_out;
  }
  return hs;
}

// -> (dpre (T,B,H), dh_all (T,B,H), dh0 (B,H))
std::tuple<Tensor, Tensor, Tensor> rnn_backward(const Tensor& g_h_in, const Tensor& hs_in, const Tensor& w_hh) {
  check_state("rnn_backward", hs_in);
  check_shape("rnn_backward", "g_h", g_h_in, {hs_in.size(0), hs_in.size(1), hs_in.size(2)});
  check_shape("rnn_backward", "w_hh", w_hh, {hs_in.size(2), hs_in.size(2)});
  const Tensor g_h = g_h_in.contiguous(), hs = hs_in.contiguous();
  const int64_t T = hs.size(0), n = hs.size(1) * hs.size(2);
  Tensor dpre = at::empty_like(hs), dh_all = at::empty_like(hs);
  Tensor dh_rec = at::zeros_like(hs.select(0, 0));
  for (int64_t t = T - 1; t >= 0; --t) {
    const float* gh = g_h.const_data_ptr<float>() + t * n;
    const float* h = hs.const_data_ptr<float>() + t * n;
    const float* rec = dh_rec.const_data_ptr<float>();
    float* dh = dh_all.mutable_data_ptr<float>() + t * n;
    float* dp = dpre.mutable_data_ptr<float>() + t * n;
    for (int64_t j = 0; j < n; ++j) {
      dh[j] = gh[j] + rec[j];
      dp[j] = dh[j] * (1.0f - h[j] * h[j]);
    }
    dh_rec = at::mm(dpre.select(0, t), w_hh);
  }
  return {dpre, dh_all, dh_rec};
}

// ---------------------------------------------------------------- LSTM (gates i, f, g, o)

// -> (act (T,B,4H) gate activations, hs, cs, tanh_cs (T,B,H))
std::tuple<Tensor, Tensor, Tensor, Tensor> lstm_forward(
    const Tensor& xp, const Tensor& h0, const Tensor& c0_in, const Tensor& w_hh, const Tensor& b_hh) {
  check_inputs("lstm_forward", xp, h0, w_hh, 4);
  const int64_t T = xp.size(0), B = xp.size(1), H = h0.size(1), G = 4 * H;
  Tensor act = at::add(xp, b_hh).contiguous();
  Tensor hs = at::empty({T, B, H}, act.options());
  Tensor cs = at::empty_like(hs), tcs = at::empty_like(hs);
  const Tensor c0 = c0_in.contiguous();
  const Tensor w_t = w_hh.t();
  Tensor h = h0;
  for (const auto t : c10::irange(T)) {
    Tensor a_t = act.select(0, t);
    a_t.addmm_(h, w_t);
    float* a = a_t.mutable_data_ptr<float>();
    const float* c_prev = t == 0 ? c0.const_data_ptr<float>() : cs.const_data_ptr<float>() + (t - 1) * B * H;
    float* c_out = cs.mutable_data_ptr<float>() + t * B * H;
    float* tc_out = tcs.mutable_data_ptr<float>() + t * B * H;
    float* h_out = hs.mutable_data_ptr<float>() + t * B * H;
    over_rows(B, G, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        float* row = a + b * G;
        float *i = row, *f = row + H, *g = row + 2 * H, *o = row + 3 * H;
        sigmoid_row(i, i, 2 * H);  // i and f are adjacent
        tanh_row(g, g, H);
        sigmoid_row(o, o, H);
        const float* cp = c_prev + b * H;
        float* c = c_out + b * H;
        float* tc = tc_out + b * H;
        for (int64_t j = 0; j < H; ++j) c[j] = f[j] * cp[j] + i[j] * g[j];
        tanh_row(c, tc, H);
        float* hh = h_out + b * H;
        for (int64_t j = 0; j < H; ++j) hh[j] = o[j] * tc[j];
      }
    });
    h = hs.select(0, t);
  }
  return {act, hs, cs, tcs};
}

// -> (dpre (T,B,4H), dh_all, dc_all (T,B,H), dh0, dc0 (B,H)); g_c may be undefined (no gradient
// reached the c_t outputs).
std::tuple<Tensor, Tensor, Tensor, Tensor, Tensor> lstm_backward(
    const Tensor& g_h_in, const std::optional<Tensor>& g_c_in, const Tensor& act_in, const Tensor& cs_in,
    const Tensor& tcs_in, const Tensor& c0_in, const Tensor& w_hh) {
  check_state("lstm_backward", cs_in);
  {
    const int64_t T = cs_in.size(0), B = cs_in.size(1), H = cs_in.size(2);
    check_shape("lstm_backward", "g_h", g_h_in, {T, B, H});
    check_shape("lstm_backward", "tcs", tcs_in, {T, B, H});
    if (g_c_in.has_value() && g_c_in->defined()) check_shape("lstm_backward", "g_c", *g_c_in, {T, B, H});
    check_shape("lstm_backward", "act", act_in, {T, B, 4 * H});
    check_shape("lstm_backward", "c0", c0_in, {B, H});
    check_shape("lstm_backward", "w_hh", w_hh, {4 * H, H});
  }
  const Tensor g_h = g_h_in.contiguous(), act = act_in.contiguous(), cs = cs_in.contiguous();
  const Tensor tcs = tcs_in.contiguous(), c0 = c0_in.contiguous();
  const bool has_gc = g_c_in.has_value() && g_c_in->defined();
  const Tensor g_c = has_gc ? g_c_in->contiguous() : Tensor();
  const int64_t T = cs.size(0), B = cs.size(1), H = cs.size(2), G = 4 * H, n = B * H;
  Tensor dpre = at::empty_like(act), dh_all = at::empty_like(cs), dc_all = at::empty_like(cs);
  Tensor dh_rec = at::zeros_like(c0), dc_carry = at::zeros_like(c0);
  float* carry = dc_carry.mutable_data_ptr<float>();
  for (int64_t t = T - 1; t >= 0; --t) {
    const float* gh = g_h.const_data_ptr<float>() + t * n;
    const float* gc = has_gc ? g_c.const_data_ptr<float>() + t * n : nullptr;
    const float* a = act.const_data_ptr<float>() + t * B * G;
    const float* tc_t = tcs.const_data_ptr<float>() + t * n;
    const float* cp_t = t == 0 ? c0.const_data_ptr<float>() : cs.const_data_ptr<float>() + (t - 1) * n;
    const float* rec = dh_rec.const_data_ptr<float>();
    float* dh_t = dh_all.mutable_data_ptr<float>() + t * n;
    float* dc_t = dc_all.mutable_data_ptr<float>() + t * n;
    float* dp = dpre.mutable_data_ptr<float>() + t * B * G;
    over_rows(B, G, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        const float *i = a + b * G, *f = i + H, *g = i + 2 * H, *o = i + 3 * H;
        const float *tc = tc_t + b * H, *cp = cp_t + b * H;
        float *dh = dh_t + b * H, *dc = dc_t + b * H, *cr = carry + b * H;
        float *di = dp + b * G, *df = di + H, *dg = di + 2 * H, *do_ = di + 3 * H;
        const float* ghb = gh + b * H;
        const float* recb = rec + b * H;
        const float* gcb = gc ? gc + b * H : nullptr;
        for (int64_t j = 0; j < H; ++j) {
          const float d_h = ghb[j] + recb[j];
          float d_c = gcb ? gcb[j] + cr[j] : cr[j];
          d_c += d_h * (o[j] * (1.0f - tc[j] * tc[j]));
          dh[j] = d_h;
          dc[j] = d_c;
          di[j] = d_c * (g[j] * i[j] * (1.0f - i[j]));
          df[j] = d_c * (cp[j] * f[j] * (1.0f - f[j]));
          dg[j] = d_c * (i[j] * (1.0f - g[j] * g[j]));
          do_[j] = d_h * (tc[j] * o[j] * (1.0f - o[j]));
          cr[j] = d_c * f[j];
        }
      }
    });
    dh_rec = at::mm(dpre.select(0, t), w_hh);
  }
  return {dpre, dh_all, dc_all, dh_rec, dc_carry};
}

// ---------------------------------------------------------------- GRU (gates r, z, n)

// -> (act (T,B,3H) = r, z, n; hp (T,B,3H) = W_hh h_{t-1} + b_hh; hs (T,B,H))
std::tuple<Tensor, Tensor, Tensor> gru_forward(
    const Tensor& xp_in, const Tensor& h0, const Tensor& w_hh, const Tensor& b_hh) {
  check_inputs("gru_forward", xp_in, h0, w_hh, 3);
  const Tensor xp = xp_in.contiguous();
  const int64_t T = xp.size(0), B = xp.size(1), H = h0.size(1), G = 3 * H;
  Tensor hp = at::empty_like(xp), act = at::empty_like(xp);
  Tensor hs = at::empty({T, B, H}, xp.options());
  const Tensor w_t = w_hh.t();
  Tensor h = h0.contiguous();
  for (const auto t : c10::irange(T)) {
    Tensor p_t = hp.select(0, t);
    at::addmm_out(p_t, b_hh, h, w_t);
    const float* x = xp.const_data_ptr<float>() + t * B * G;
    const float* p = p_t.const_data_ptr<float>();
    const float* hprev = h.const_data_ptr<float>();
    float* a = act.mutable_data_ptr<float>() + t * B * G;
    float* h_out = hs.mutable_data_ptr<float>() + t * B * H;
    over_rows(B, G, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        const float *xb = x + b * G, *pb = p + b * G, *hb = hprev + b * H;
        float *r = a + b * G, *z = r + H, *nn = r + 2 * H, *ho = h_out + b * H;
        for (int64_t j = 0; j < 2 * H; ++j) r[j] = xb[j] + pb[j];  // r and z pre-activations
        sigmoid_row(r, r, 2 * H);
        for (int64_t j = 0; j < H; ++j) nn[j] = xb[2 * H + j] + r[j] * pb[2 * H + j];
        tanh_row(nn, nn, H);
        for (int64_t j = 0; j < H; ++j) ho[j] = (hb[j] - nn[j]) * z[j] + nn[j];
      }
    });
    h = hs.select(0, t);
  }
  return {act, hp, hs};
}

// -> (dxp (T,B,3H), dhp (T,B,3H), dh_all (T,B,H), dh0 (B,H))
std::tuple<Tensor, Tensor, Tensor, Tensor> gru_backward(
    const Tensor& g_h_in, const Tensor& act_in, const Tensor& hp_in, const Tensor& hs_in, const Tensor& h0_in,
    const Tensor& w_hh) {
  check_state("gru_backward", hs_in);
  {
    const int64_t T = hs_in.size(0), B = hs_in.size(1), H = hs_in.size(2);
    check_shape("gru_backward", "g_h", g_h_in, {T, B, H});
    check_shape("gru_backward", "act", act_in, {T, B, 3 * H});
    check_shape("gru_backward", "hp", hp_in, {T, B, 3 * H});
    check_shape("gru_backward", "h0", h0_in, {B, H});
    check_shape("gru_backward", "w_hh", w_hh, {3 * H, H});
  }
  const Tensor g_h = g_h_in.contiguous(), act = act_in.contiguous(), hp = hp_in.contiguous();
  const Tensor hs = hs_in.contiguous(), h0 = h0_in.contiguous();
  const int64_t T = hs.size(0), B = hs.size(1), H = hs.size(2), G = 3 * H, n = B * H;
  Tensor dxp = at::empty_like(act), dhp = at::empty_like(act), dh_all = at::empty_like(hs);
  Tensor dh_rec = at::zeros_like(h0);  // dL/dh_t through h_{t+1}: W_hh^T dhp_{t+1} + z_{t+1} dh_{t+1}
  for (int64_t t = T - 1; t >= 0; --t) {
    const float* gh = g_h.const_data_ptr<float>() + t * n;
    const float* a = act.const_data_ptr<float>() + t * B * G;
    const float* p = hp.const_data_ptr<float>() + t * B * G;
    const float* hprev = t == 0 ? h0.const_data_ptr<float>() : hs.const_data_ptr<float>() + (t - 1) * n;
    const float* rec = dh_rec.const_data_ptr<float>();
    float* dh_t = dh_all.mutable_data_ptr<float>() + t * n;
    float* dx = dxp.mutable_data_ptr<float>() + t * B * G;
    float* dq = dhp.mutable_data_ptr<float>() + t * B * G;
    over_rows(B, G, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        const float *r = a + b * G, *z = r + H, *nn = r + 2 * H, *pn = p + b * G + 2 * H, *hb = hprev + b * H;
        const float *ghb = gh + b * H, *recb = rec + b * H;
        float *dh = dh_t + b * H, *dxr = dx + b * G, *dxz = dxr + H, *dxn = dxr + 2 * H;
        float *dqr = dq + b * G, *dqz = dqr + H, *dqn = dqr + 2 * H;
        for (int64_t j = 0; j < H; ++j) {
          const float d_h = ghb[j] + recb[j];
          dh[j] = d_h;
          const float d_n = d_h * ((1.0f - z[j]) * (1.0f - nn[j] * nn[j]));
          const float d_z = d_h * ((hb[j] - nn[j]) * z[j] * (1.0f - z[j]));
          const float d_r = d_n * (pn[j] * r[j] * (1.0f - r[j]));
          dxr[j] = d_r;
          dxz[j] = d_z;
          dxn[j] = d_n;
          dqr[j] = d_r;
          dqz[j] = d_z;
          dqn[j] = d_n * r[j];
        }
      }
    });
    Tensor next = at::mm(dhp.select(0, t), w_hh);
    float* nx = next.mutable_data_ptr<float>();
    const float* dh_c = dh_t;
    const float* zt = a;
    over_rows(B, G, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        for (int64_t j = 0; j < H; ++j) nx[b * H + j] += dh_c[b * H + j] * zt[b * G + H + j];
      }
    });
    dh_rec = next;
  }
  return {dxp, dhp, dh_all, dh_rec};
}

}  // namespace rnnscope_recurrence

TORCH_LIBRARY(rnnscope, m) {
  m.def("rnn_forward(Tensor xp, Tensor h0, Tensor w_hh, Tensor b_hh) -> Tensor", &rnnscope_recurrence::rnn_forward);
  m.def("rnn_backward(Tensor g_h, Tensor hs, Tensor w_hh) -> (Tensor, Tensor, Tensor)", &rnnscope_recurrence::rnn_backward);
  m.def(
      "lstm_forward(Tensor xp, Tensor h0, Tensor c0, Tensor w_hh, Tensor b_hh) -> (Tensor, Tensor, Tensor, Tensor)",
      &rnnscope_recurrence::lstm_forward);
  m.def(
      "lstm_backward(Tensor g_h, Tensor? g_c, Tensor act, Tensor cs, Tensor tcs, Tensor c0, Tensor w_hh)"
      " -> (Tensor, Tensor, Tensor, Tensor, Tensor)",
      &rnnscope_recurrence::lstm_backward);
  m.def("gru_forward(Tensor xp, Tensor h0, Tensor w_hh, Tensor b_hh) -> (Tensor, Tensor, Tensor)", &rnnscope_recurrence::gru_forward);
  m.def(
      "gru_backward(Tensor g_h, Tensor act, Tensor hp, Tensor hs, Tensor h0, Tensor w_hh)"
      " -> (Tensor, Tensor, Tensor, Tensor)",
      &rnnscope_recurrence::gru_backward);
}
