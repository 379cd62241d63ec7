// engine/diagnostics.py's jacobian_norms (Lanczos on J_t^T J_t, batched over t) in C++.
//
// Why: at H=64 each Lanczos step is two small matrix products and ~15 tensor operations
// of a few microseconds' dispatch each; with ~30 steps and a batched LAPACK eigensolve
// every 4 steps, the Python loop cost more than the whole training step. Here a step is
// the two ATen matrix products plus plain loops over the (T, H) vectors, and the top
// eigenvalue of each small Lanczos tridiagonal comes from bisection on its Sturm sequence.
//
// The algorithm, its start vector (passed in: diagnostics.start_vector), its stopping rule
// and its result are those of the Python version (which stays the reference and the path for CUDA and float64):
//   J_t v = a_t * v + sum over gate blocks g of E_{t,g} * (W_hh v)_g      (a: GRU only)
// e (T, G*H), a (T, H) or none, w_hh (G*H, H), q0 (H,); returns (T,) ||J_t||_2 as float32.
// lstm_joint_norms: the LSTM's joint (h, c) Jacobian, the same Lanczos over 2H-vectors.

#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/cpu/vec/vec.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/mm.h>
#include <c10/util/irange.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace rnnscope_jacobian {

using at::Tensor;
using Vec = at::vec::Vectorized<float>;
constexpr int64_t W = Vec::size();

// sum x[h] y[h] in float, in 8 partial sums (element h into sum h % 8, fused multiply-adds) added
// in a fixed order: the same bits whatever the vector width the build runs (8 or 16 lanes would
// otherwise split the sum differently), and still vectorised by the compiler.
float dot(const float* x, const float* y, int64_t n) {
  float acc[8] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
  int64_t h = 0;
  for (; h + 8 <= n; h += 8)
    for (int l = 0; l < 8; ++l) acc[l] = std::fma(x[h + l], y[h + l], acc[l]);
  for (int l = 0; h < n; ++h, ++l) acc[l] = std::fma(x[h], y[h], acc[l]);
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// y -= c x (the tail in a partial vector: the same rounding as the body, at any vector width)
void sub_scaled(float* y, const float* x, float c, int64_t n) {
  const Vec cv(c);
  int64_t h = 0;
  for (; h + W <= n; h += W) (Vec::loadu(y + h) - cv * Vec::loadu(x + h)).store(y + h);
  if (h < n) (Vec::loadu(y + h, n - h) - cv * Vec::loadu(x + h, n - h)).store(y + h, static_cast<int>(n - h));
}

// Number of eigenvalues of the symmetric tridiagonal (diag a[0..n), off-diagonal b[0..n-1))
// that are smaller than x (Sturm sequence of the LDL^T pivots).
int64_t count_below(const double* a, const double* b, int64_t n, double x) {
  int64_t count = 0;
  double d = 1.0;
  for (int64_t i = 0; i < n; ++i) {
    const double off = i > 0 ? b[i - 1] * b[i - 1] : 0.0;
    d = (a[i] - x) - (i > 0 ? off / d : 0.0);
    if (d == 0.0) d = -std::numeric_limits<double>::min();  // step off an exact pivot of 0
    if (d < 0.0) ++count;
  }
  return count;
}

// Largest eigenvalue of the tridiagonal, to a relative precision far below the Lanczos
// stopping tolerance; NaN if any entry is not finite.
double top_eigenvalue(const double* a, const double* b, int64_t n) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (int64_t i = 0; i < n; ++i) {
    const double r = (i > 0 ? std::abs(b[i - 1]) : 0.0) + (i + 1 < n ? std::abs(b[i]) : 0.0);
    if (!std::isfinite(a[i]) || !std::isfinite(r)) return std::numeric_limits<double>::quiet_NaN();
    lo = std::min(lo, a[i] - r);
    hi = std::max(hi, a[i] + r);  // Gershgorin: every eigenvalue lies in [lo, hi]
  }
  for (int it = 0; it < 200 && hi - lo > 1e-14 * std::max(std::abs(lo), std::abs(hi)) + 1e-300; ++it) {
    const double mid = 0.5 * (lo + hi);
    if (mid <= lo || mid >= hi) break;
    if (count_below(a, b, n, mid) == n) hi = mid;  // all n below mid: the top is below it
    else lo = mid;
  }
  return 0.5 * (lo + hi);
}

// The batched Lanczos loop shared by both operators. ``apply(R, rows, q, w)`` sets w = J^T J q
// for the first R rows of q/w (R x N), row r being timestep rows[r]. Returns (T,) sqrt of the
// top Ritz value per timestep (NaN where it is not finite).
// Rows go to several threads once a Lanczos step's reorthogonalisation work is this large.
constexpr int64_t kParallelWork = 32768;

template <typename Apply>
Tensor lanczos_top(int64_t T, int64_t N, const Tensor& q0, int64_t iters, double rtol, int64_t check_every,
                   const at::TensorOptions& opts, const Apply& apply) {
  TORCH_CHECK(q0.scalar_type() == at::kFloat && q0.dim() == 1 && q0.size(0) == N,
              "jacobian norms: the start vector q0 must be (", N, ",) float32");
  const int64_t k = std::min(iters, N);
  Tensor q = at::empty({T, N}, opts);
  std::vector<float> basis(static_cast<size_t>(T * k * N)), w(static_cast<size_t>(T * N));
  std::vector<double> alphas(static_cast<size_t>(T * k)), betas(static_cast<size_t>(T * k));
  std::vector<double> top(static_cast<size_t>(T), 0.0);
  // Rows still moving, compacted: row r of q/w is timestep rows[r]. A settled row's value is
  // final (the Python version keeps iterating it but never looks at it again).
  std::vector<int64_t> rows(static_cast<size_t>(T));
  for (const auto t : c10::irange(T)) rows[t] = t;
  float* qp = q.mutable_data_ptr<float>();
  const float* q0p = q0.const_data_ptr<float>();  // the start vector, the same for every t
  for (const auto t : c10::irange(T)) std::copy_n(q0p, N, qp + t * N);

  for (int64_t j = 0; j < k; ++j) {
    const auto R = static_cast<int64_t>(rows.size());
    for (const auto r : c10::irange(R)) std::copy_n(qp + r * N, N, basis.data() + (rows[r] * k + j) * N);
    apply(R, rows, q, w.data());
    // Rows are independent: their reorthogonalisation (the O(j N) part of a step) runs on the
    // intra-op threads, each row computed the same way whichever thread takes it, so the
    // result does not depend on the thread count.
    const int64_t per_row = 4 * (j + 1) * N;
    at::parallel_for(0, R, std::max<int64_t>(1, kParallelWork / per_row), [&](int64_t lo, int64_t hi) {
      std::vector<float> coef(static_cast<size_t>(j + 1));
      for (int64_t r = lo; r < hi; ++r) {
        const int64_t t = rows[r];
        float* wt = w.data() + r * N;
        float* qt = qp + r * N;
        alphas[t * k + j] = dot(wt, qt, N);
        const float* qs = basis.data() + t * k * N;
        for (int pass = 0; pass < 2; ++pass) {  // full reorthogonalisation, twice is enough
          for (int64_t i = 0; i <= j; ++i) coef[i] = dot(wt, qs + i * N, N);
          for (int64_t i = 0; i <= j; ++i) sub_scaled(wt, qs + i * N, coef[i], N);
        }
        const double beta = std::sqrt(static_cast<double>(dot(wt, wt, N)));
        betas[t * k + j] = beta;
        if (beta > 1e-6 * std::max(std::abs(alphas[t * k]), 1e-30)) {
          const float inv = static_cast<float>(1.0 / beta);
          for (int64_t h = 0; h < N; ++h) qt[h] = wt[h] * inv;
        } else {  // the Krylov space is exhausted: the tridiagonal decouples here
          std::fill(qt, qt + N, 0.0f);
        }
      }
    });
    const int64_t n = j + 1;
    if ((n >= 8 && n % check_every == 0) || n == k) {
      int64_t kept = 0;
      for (const auto r : c10::irange(R)) {
        const int64_t t = rows[r];
        const double now = top_eigenvalue(alphas.data() + t * k, betas.data() + t * k, n);
        const double before = top[t];
        top[t] = now;
        if (std::abs(now - before) > rtol * std::abs(now)) {  // still moving (a NaN row settles)
          if (kept != r) std::copy_n(qp + r * N, N, qp + kept * N);
          rows[kept++] = t;
        }
      }
      rows.resize(static_cast<size_t>(kept));
      if (kept == 0) break;
    }
  }
  Tensor out = at::empty({T}, opts);
  float* op = out.mutable_data_ptr<float>();
  for (const auto t : c10::irange(T)) op[t] = static_cast<float>(std::sqrt(std::max(top[t], 0.0)));
  for (const auto t : c10::irange(T))
    if (std::isnan(top[t])) op[t] = std::numeric_limits<float>::quiet_NaN();
  return out;
}

// tanh RNN and GRU: J_t v = a_t * v + sum over gate blocks g of E_{t,g} * (W_hh v)_g.
Tensor jacobian_norms(const Tensor& e_in, const std::optional<Tensor>& a_in, const Tensor& w_hh_in,
                      const Tensor& q0_in, int64_t iters, double rtol, int64_t check_every) {
  TORCH_CHECK(e_in.device().is_cpu() && e_in.scalar_type() == at::kFloat && w_hh_in.scalar_type() == at::kFloat,
              "jacobian_norms: float32 CPU tensors only");
  const Tensor e = e_in.contiguous(), w_hh = w_hh_in.contiguous(), q0 = q0_in.contiguous();
  const bool has_a = a_in.has_value() && a_in->defined();
  const Tensor a = has_a ? a_in->contiguous() : Tensor();
  const int64_t T = e.size(0), GH = e.size(1), H = w_hh.size(1), G = GH / H;
  TORCH_CHECK(w_hh.size(0) == GH && G * H == GH && (!has_a || (a.size(0) == T && a.size(1) == H)),
              "jacobian_norms: shapes disagree");
  const Tensor w_t = w_hh.t();
  Tensor eu = at::empty({T, GH}, e.options());
  std::vector<float> u(static_cast<size_t>(T * H));
  const float* ep = e.const_data_ptr<float>();
  const float* ap = has_a ? a.const_data_ptr<float>() : nullptr;
  float* eup = eu.mutable_data_ptr<float>();
  auto apply = [&](int64_t R, const std::vector<int64_t>& rows, const Tensor& q, float* w) {
    const float* qp = q.const_data_ptr<float>();
    const Tensor vw = at::mm(q.narrow(0, 0, R), w_t);  // (R, G*H)
    const float* vwp = vw.const_data_ptr<float>();
    for (const auto r : c10::irange(R)) {  // u = J q, then eu = E * u per gate block
      const int64_t t = rows[r];
      float* ut = u.data() + r * H;
      const float* et = ep + t * GH;
      const float* vt = vwp + r * GH;
      for (int64_t h = 0; h < H; ++h) ut[h] = ap ? ap[t * H + h] * qp[r * H + h] : 0.0f;
      for (int64_t g = 0; g < G; ++g)
        for (int64_t h = 0; h < H; ++h) ut[h] += et[g * H + h] * vt[g * H + h];
      for (int64_t g = 0; g < G; ++g)
        for (int64_t h = 0; h < H; ++h) eup[r * GH + g * H + h] = et[g * H + h] * ut[h];
    }
    const Tensor jt = at::mm(eu.narrow(0, 0, R), w_hh);  // (R, H): J^T u
    const float* jp = jt.const_data_ptr<float>();
    for (const auto r : c10::irange(R)) {
      const int64_t t = rows[r];
      for (int64_t h = 0; h < H; ++h)
        w[r * H + h] = jp[r * H + h] + (ap ? ap[t * H + h] * u[r * H + h] : 0.0f);
    }
  };
  return lanczos_top(T, H, q0, iters, rtol, check_every, e.options(), apply);
}

// The LSTM's joint state map d(h_t, c_t)/d(h_{t-1}, c_{t-1}) on v = (vh, vc) (2H), s = W_hh vh:
//   dc = f vc + sum_{g in i,f,g} ec_g s_g,   dh = k dc + eo s_o            (J v)
//   wc = uc + k uh,  (vh', vc') = ([ec_g wc ..., eo uh] W_hh, f wc)        (J^T u)
// act (T, 4H) gate activations, ec (T, 3H), k = o (1 - tanh^2 c_t) and eo = tanh(c_t) o (1-o) (T, H).
Tensor lstm_joint_norms(const Tensor& act_in, const Tensor& ec_in, const Tensor& k_in, const Tensor& eo_in,
                        const Tensor& w_hh_in, const Tensor& q0_in, int64_t iters, double rtol,
                        int64_t check_every) {
  TORCH_CHECK(act_in.device().is_cpu() && act_in.scalar_type() == at::kFloat && w_hh_in.scalar_type() == at::kFloat,
              "lstm_joint_norms: float32 CPU tensors only");
  const Tensor act = act_in.contiguous(), ec = ec_in.contiguous(), kk = k_in.contiguous(), eo = eo_in.contiguous();
  const Tensor w_hh = w_hh_in.contiguous(), q0 = q0_in.contiguous();
  const int64_t T = act.size(0), H = w_hh.size(1), N = 2 * H;
  TORCH_CHECK(act.size(1) == 4 * H && w_hh.size(0) == 4 * H && ec.size(0) == T && ec.size(1) == 3 * H &&
                  kk.size(0) == T && kk.size(1) == H && eo.size(0) == T && eo.size(1) == H,
              "lstm_joint_norms: shapes disagree");
  const Tensor w_t = w_hh.t();
  Tensor qh = at::empty({T, H}, act.options()), gs = at::empty({T, 4 * H}, act.options());
  std::vector<float> wc(static_cast<size_t>(T * H));
  const float *ap = act.const_data_ptr<float>(), *ecp = ec.const_data_ptr<float>();
  const float *kp = kk.const_data_ptr<float>(), *eop = eo.const_data_ptr<float>();
  float *qhp = qh.mutable_data_ptr<float>(), *gsp = gs.mutable_data_ptr<float>();
  auto apply = [&](int64_t R, const std::vector<int64_t>& rows, const Tensor& q, float* w) {
    const float* qp = q.const_data_ptr<float>();
    for (const auto r : c10::irange(R)) std::copy_n(qp + r * N, H, qhp + r * H);
    const Tensor sv = at::mm(qh.narrow(0, 0, R), w_t);  // (R, 4H)
    const float* sp = sv.const_data_ptr<float>();
    for (const auto r : c10::irange(R)) {
      const int64_t t = rows[r];
      const float *f = ap + t * 4 * H + H, *e = ecp + t * 3 * H, *k = kp + t * H, *o = eop + t * H;
      const float *s = sp + r * 4 * H, *vc = qp + r * N + H;
      float* wct = wc.data() + r * H;
      float* g = gsp + r * 4 * H;
      // Explicit fused multiply-adds: the same rounding in the compiler's vector body and its
      // scalar or masked tail, whatever the build's vector width (tested on AVX2 and AVX512).
      for (int64_t h = 0; h < H; ++h) {
        const float dc =
            std::fma(e[2 * H + h], s[2 * H + h], std::fma(e[H + h], s[H + h], std::fma(e[h], s[h], f[h] * vc[h])));
        const float dh = std::fma(o[h], s[3 * H + h], k[h] * dc);
        const float c = std::fma(k[h], dh, dc);
        wct[h] = c;
        g[h] = e[h] * c;
        g[H + h] = e[H + h] * c;
        g[2 * H + h] = e[2 * H + h] * c;
        g[3 * H + h] = o[h] * dh;
      }
    }
    const Tensor vh = at::mm(gs.narrow(0, 0, R), w_hh);  // (R, H)
    const float* vp = vh.const_data_ptr<float>();
    for (const auto r : c10::irange(R)) {
      const int64_t t = rows[r];
      const float* f = ap + t * 4 * H + H;
      std::copy_n(vp + r * H, H, w + r * N);
      for (int64_t h = 0; h < H; ++h) w[r * N + H + h] = f[h] * wc[r * H + h];
    }
  };
  return lanczos_top(T, N, q0, iters, rtol, check_every, act.options(), apply);
}

}  // namespace rnnscope_jacobian

TORCH_LIBRARY_FRAGMENT(rnnscope, m) {
  m.def("jacobian_norms(Tensor e, Tensor? a, Tensor w_hh, Tensor q0, int iters, float rtol, int check_every) -> Tensor",
        &rnnscope_jacobian::jacobian_norms);
  m.def(
      "lstm_joint_norms(Tensor act, Tensor ec, Tensor k, Tensor eo, Tensor w_hh, Tensor q0, int iters, float rtol,"
      " int check_every) -> Tensor",
      &rnnscope_jacobian::lstm_joint_norms);
}
