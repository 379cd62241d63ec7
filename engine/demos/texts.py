"""The demos' titles and explanations, in English and Korean (the course notes are Korean).

Plain text: paragraphs separated by a blank line, formulas in plain Unicode (a GUI wraps
each paragraph in <p>; a terminal prints it as is). A text states only what holds on every
machine, and engine/demos/checks.py checks each such claim against real runs; the figures of a
particular run (which depend on the CPU kind, the thread count and the loops) are quoted by
the explanation panel from the run on screen (engine/demos/figures.py), never written here.
"""

from __future__ import annotations

TITLES: dict[str, tuple[str, str]] = {
    "sunspots": ("Real data: the sunspot cycle, RNN vs LSTM", "실제 데이터: 태양 흑점 주기, RNN과 LSTM 비교"),
    "lstm-copy": ("An LSTM learns to copy (start here)", "LSTM이 복사를 배운다 (여기서 시작)"),
    "vanishing": ("Vanishing gradients: RNN vs LSTM", "기울기 소실: RNN과 LSTM 비교"),
    "exploding": ("Exploding gradients, NaN and clipping", "기울기 폭주, NaN, 그리고 그래디언트 클리핑"),
    "init-scale": ("Init scale and the singular values of W_hh", "초기화 스케일과 W_hh의 특이값"),
    "highway": ("The LSTM gradient highway: forget bias", "LSTM의 그래디언트 고속도로: 망각 게이트 편향"),
    "gru-vs-lstm": ("GRU vs LSTM: parameters, speed, accuracy", "GRU와 LSTM: 파라미터 수, 속도, 정확도"),
    "seq2seq": ("Seq2Seq and teacher forcing", "Seq2Seq와 교사 강요(teacher forcing)"),
    "language-model": (
        "RNN language model: dropout and weight tying",
        "RNN 언어 모델: 드롭아웃과 가중치 공유",
    ),
}

EXPLANATIONS: dict[str, dict[str, str]] = {
    "sunspots": {
        "en": """\
Real data, not a generated task: the yearly mean sunspot number from 1700 to 2008 (engine/data/sunspots.csv, public domain, as shipped with statsmodels). It rises and falls in a cycle of about 11 years whose peaks differ from cycle to cycle. Both models read 40 years and predict, at every year, the next year's number.

The split is by time, as a forecast must be: 1700-1946 train, 1947-2008 (the last 20%) are never trained on and give the validation figures. Every value is normalised with the mean and spread of the training years only (the task line says them), so the validation years leak nothing. A window never crosses from the training years into the validation years.

Watch the health panel: the loss (MSE in normalised units) falls and R^2 climbs within a hundred steps in both runs, because next year is mostly this year plus the phase of the cycle. The sample panel draws the prediction over the real series. The box below quotes the shown run's training R^2; the Runs panel shows both runs' validation R^2 on the unseen years. After 300 steps both are above 0.5, and the LSTM forecasts the unseen cycles better (a lower validation error); the RNN also learns a usable forecast. Honest limits: 309 numbers are a small data set; the gap between the two cells is a few tens of percent of the error, not orders of magnitude.

The gradient-flow panel looks different from the copy demos: here every year has its own loss, so ||dL/dh_t|| at an early t is the sum of what flows back from all the later years, and it does not fall to nothing. Try the suggestion (a window of one cycle) and compare.""",
        "ko": """\
생성된 과제가 아닌 실제 데이터입니다: 1700년부터 2008년까지의 연평균 태양 흑점 수(engine/data/sunspots.csv, 퍼블릭 도메인, statsmodels에 포함된 것). 흑점 수는 약 11년 주기로 오르내리며, 주기마다 정점의 높이가 다릅니다. 두 모델 모두 40년을 읽고 매년 다음 해의 흑점 수를 예측합니다.

예측이라면 당연히 시간으로 나눕니다: 1700-1946년은 학습, 1947-2008년(마지막 20%)은 한 번도 학습하지 않고 검증 수치를 냅니다. 모든 값은 학습 연도의 평균과 퍼짐으로만 정규화되므로(과제 설명 줄에 나옴) 검증 연도의 정보가 새지 않습니다. 어떤 창도 학습 연도에서 검증 연도로 넘어가지 않습니다.

상태(health) 패널을 보세요: 두 실행 모두 백 스텝 안에 손실(정규화 단위의 MSE)이 줄고 R^2가 오릅니다. 다음 해는 대부분 올해 값과 주기의 위상으로 정해지기 때문입니다. 샘플 패널은 실제 계열 위에 예측을 그립니다. 아래 상자에는 지금 보이는 실행의 학습 R^2가, Runs 패널에는 두 실행이 보지 못한 연도에서의 검증 R^2가 나옵니다. 300 스텝 뒤 둘 다 0.5를 넘고, LSTM이 보지 못한 주기를 더 잘 예측합니다(검증 오차가 더 낮음). RNN도 쓸 만한 예측을 배웁니다. 한계도 정직하게: 309개의 숫자는 작은 데이터이고, 두 셀의 차이는 오차의 수십 퍼센트이지 몇 자릿수가 아닙니다.

기울기 흐름 패널은 복사 데모와 다르게 보입니다: 여기서는 해마다 자기 손실이 있으므로 이른 t의 ||dL/dh_t||는 이후 모든 해에서 거슬러 온 기울기의 합이고, 0으로 떨어지지 않습니다. 제안(한 주기 길이의 창)을 해 보고 비교하세요.""",
    },
    "lstm-copy": {
        "en": """\
The copy task: five symbols (A..H) are shown, then blanks, then GO; after GO the network must replay the five symbols in order. Chance is 1/8 per symbol. An LSTM with 64 units (forget-gate bias 1) learns it within a couple of hundred steps: by step 200 its accuracy is far above chance (the box below the text quotes the run shown).

The LSTM cell: f, i, o = σ(W x_t + U h_{t-1} + b), g = tanh(...), c_t = f ⊙ c_{t-1} + i ⊙ g, h_t = o ⊙ tanh(c_t).

What to look for: the loss falling and the accuracy rising in the health panel; in the gates panel the input gate i opening while the symbols are shown and the forget gate f staying high across the blanks (the cell holds them); in the sample panel the prediction turning from blanks into the right letters; in the gradient-flow panel how much of ||dL/dh_t|| reaches the early timesteps where the symbols were shown. Then open a demo from File > Demos to see one claim of the lesson at a time.""",
        "ko": """\
복사 과제: 다섯 개의 기호(A..H)를 보여 준 뒤 빈칸과 GO가 이어지고, GO 다음에 네트워크는 다섯 기호를 순서대로 다시 출력해야 합니다. 기호 하나당 우연 수준은 1/8입니다. 64개 유닛의 LSTM(망각 게이트 편향 1)은 수백 스텝 안에 이를 배웁니다. 200 스텝이면 정확도가 우연 수준을 크게 넘습니다(본문 아래 상자에 지금 보이는 실행의 수치가 나옵니다).

LSTM 셀: f, i, o = σ(W x_t + U h_{t-1} + b), g = tanh(...), c_t = f ⊙ c_{t-1} + i ⊙ g, h_t = o ⊙ tanh(c_t).

볼 것: 상태(health) 패널에서 손실이 줄고 정확도가 오르는 모습, 게이트 패널에서 기호가 보일 때 입력 게이트 i가 열리고 빈칸 동안 망각 게이트 f가 높게 유지되는 모습(셀이 기호를 붙잡고 있음), 샘플 패널에서 예측이 빈칸에서 올바른 글자로 바뀌는 모습, 기울기 흐름 패널에서 ||dL/dh_t||가 기호가 보였던 초기 타임스텝까지 얼마나 도달하는지. 그다음 File > Demos에서 데모를 열어 수업의 주장을 하나씩 확인하세요.""",
    },
    "vanishing": {
        "en": """\
Backpropagation through time multiplies one Jacobian per timestep:
dL/dh_{t-1} = W_hh^T · diag(tanh'(a_t)) · dL/dh_t  (plus the loss's own term at t-1).
tanh' is at most 1, so over k steps the gradient shrinks roughly like (σ_max(W_hh) · tanh')^k: geometrically.

Both models see the copy task with a delay of 40 (T = 60): a symbol shown at t = 0 must be replayed at t ≥ 50, so the only signal that teaches it is the gradient that survives ~50 steps back. Watch the gradient-flow heatmaps side by side (log colour scale). In the RNN, ||dL/dh_t|| falls on a straight line in log scale: the same factor below 1 for every step back. The ratio ||dL/dh_0|| / ||dL/dh_59|| of the LSTM (forget-gate bias 1, the usual init) stays more than a hundred times the RNN's: orders of magnitude apart. The box below the text quotes the ratio and the factor of the run shown; switch runs to compare.

Why: the LSTM cell state adds a path c_{t-1} → c_t that is only an elementwise product with the forget gate f (see the "highway" demo). Honest limits: the LSTM's gradient still decays (f < 1 at every step multiplies it down); the LSTM eases vanishing gradients, it does not remove them. And a gradient that arrives is not a solved task: within a few hundred steps neither model beats chance (1/8) on this long delay.""",
        "ko": """\
시간 역전파(BPTT)는 타임스텝마다 야코비안을 하나씩 곱합니다:
dL/dh_{t-1} = W_hh^T · diag(tanh'(a_t)) · dL/dh_t  (t-1 시점의 손실 항은 별도로 더해짐).
tanh'은 1 이하이므로 k 스텝을 거치면 기울기는 대략 (σ_max(W_hh) · tanh')^k 처럼, 즉 기하급수적으로 줄어듭니다.

두 모델 모두 지연 40(T = 60)의 복사 과제를 풉니다. t = 0에 본 기호를 t ≥ 50에서 다시 출력해야 하므로, 이를 가르치는 신호는 약 50 스텝을 거슬러 살아남은 기울기뿐입니다. 기울기 흐름 히트맵(로그 색상)을 나란히 보세요. RNN의 ||dL/dh_t||는 로그 눈금에서 직선으로 떨어집니다. 한 스텝 거슬러 갈 때마다 1보다 작은 같은 배율이 곱해집니다. LSTM(망각 게이트 편향 1, 흔히 쓰는 초기화)의 ||dL/dh_0|| / ||dL/dh_59||는 RNN의 백 배보다 계속 큽니다. 몇 자릿수나 차이가 납니다. 본문 아래 상자에 지금 보이는 실행의 비율과 배율이 나오니, 실행을 바꿔 가며 비교하세요.

이유: LSTM의 셀 상태에는 망각 게이트 f와의 원소별 곱만 거치는 경로 c_{t-1} → c_t가 있습니다("highway" 데모 참고). 한계도 정직하게: LSTM의 기울기도 여전히 줄어듭니다(매 스텝 f < 1이 곱해짐). LSTM은 기울기 소실을 완화할 뿐 없애지는 못합니다. 또한 기울기가 도달한다고 과제가 풀리는 것은 아닙니다. 이렇게 긴 지연에서는 수백 스텝 안에 두 모델 모두 우연 수준(1/8)을 넘지 못합니다.""",
    },
    "exploding": {
        "en": """\
The same product of Jacobians grows when σ_max(W_hh) · tanh' > 1. This tanh RNN starts with W_hh = 2 × (an orthogonal matrix), σ_max = 2, on next-value prediction of sine waves (T = 50), trained with plain SGD (lr 0.1), no clipping.

Press play and watch the gradient norm in the health panel (log scale). Step 0 already has ||g|| of a few hundred. SGD's step is -lr · g, so a large gradient means a large jump; each oversized step lands where the gradient is larger still, and the norm grows geometrically, several times over at every step, until float32 overflows within the first few dozen steps. The non-finite breakpoint pauses the run at the first step with a NaN or inf and says where it appeared. From then on the loss stays inf: the trainer skips every update whose loss or gradient is not finite, so the weights stay finite, but the run is lost. The box below the text quotes the run shown: its ||g|| at step 0, the growth per step, and the step and place of the first NaN/inf (they differ between machines, so no number is written here).

Now rewind to step 0, turn clipping on (threshold 1) and continue. Clipping by norm keeps the direction and caps the length: if ||g|| > τ then g ← τ · g / ||g||. The same run now trains: within 60 steps every step stays finite, the loss falls to a fraction of where it started and R² rises above 0.5; the health panel shows the norm before clipping, after clipping, and the threshold line.

Limits: clipping caps the damage of one step, it does not shrink W_hh, and it cannot undo the jumps taken before it was on: try rewinding only to a step where the norm was already far off the chart, and compare. If the norm itself overflows to inf, clipping cannot compute a direction at all.""",
        "ko": """\
같은 야코비안의 곱은 σ_max(W_hh) · tanh' > 1이면 커집니다. 이 tanh RNN은 W_hh = 2 × (직교 행렬), 즉 σ_max = 2로 시작하며, 사인파의 다음 값 예측(T = 50)을 클리핑 없이 순수 SGD(lr 0.1)로 학습합니다.

재생을 누르고 상태(health) 패널의 기울기 노름(로그 눈금)을 보세요. 0번째 스텝부터 ||g||가 수백입니다. SGD의 한 걸음은 -lr · g이므로 기울기가 크면 크게 점프합니다. 지나치게 큰 걸음은 기울기가 더 큰 곳에 떨어지고, 노름은 매 스텝 몇 배씩 기하급수적으로 커져 처음 수십 스텝 안에 float32가 오버플로합니다. 비유한(non-finite) 브레이크포인트가 처음 NaN이나 inf가 나온 스텝에서 실행을 멈추고 어디서 나왔는지 알려 줍니다. 그 뒤로 손실은 계속 inf입니다. 트레이너는 손실이나 기울기가 유한하지 않은 스텝의 업데이트를 건너뛰므로 가중치는 유한하게 남지만, 그 실행은 이미 망가졌습니다. 본문 아래 상자에 지금 보이는 실행의 수치가 나옵니다: 0번째 스텝의 ||g||, 스텝당 증가율, 첫 NaN/inf의 스텝과 위치(기계마다 다르므로 여기에는 숫자를 적지 않습니다).

이제 0번째 스텝으로 되감고, 클리핑을 켜고(임계값 1) 계속 실행하세요. 노름 기준 클리핑은 방향은 유지하고 길이만 제한합니다: ||g|| > τ 이면 g ← τ · g / ||g||. 같은 실행이 이제 학습됩니다. 60 스텝 안에 모든 스텝이 유한하게 남고, 손실은 처음의 몇 분의 일로 떨어지며 R²는 0.5를 넘습니다. 상태 패널에는 클리핑 전 노름, 클리핑 후 노름, 임계값 선이 함께 보입니다.

한계: 클리핑은 한 걸음의 피해를 제한할 뿐 W_hh를 줄이지 않으며, 클리핑을 켜기 전에 이미 일어난 점프를 되돌리지 못합니다. 노름이 이미 그래프를 한참 벗어난 스텝으로만 되감아 비교해 보세요. 노름 자체가 inf로 오버플로하면 클리핑은 방향조차 계산할 수 없습니다.""",
    },
    "init-scale": {
        "en": """\
One step back in time multiplies the gradient by J_t^T = W_hh^T · diag(tanh'(a_t)), so
||dL/dh_{t-1}|| ≤ σ_max(W_hh) · max|tanh'| · ||dL/dh_t|| ≤ σ_max(W_hh) · ||dL/dh_t||.
With σ_max < 1 the gradient must vanish; with σ_max > 1 it can grow (it need not: tanh' < 1 and the direction matter).

Three tanh RNNs on the adding problem (T = 40; the loss is only at the last step, so ||dL/dh_t|| for t < 39 is pure backpropagation) start with W_hh = s × (an orthogonal matrix): every singular value equals s = 0.5, 1 or 2. Watch the singular-value panel (the line at 1) and the gradient-flow panel. The gradient's factor per step back is below 1 for s = 0.5 (it vanishes), below 1 also for s = 1 (tanh' < 1 tips the edge case into vanishing) and above 1 for s = 2 (it grows towards t = 0); it rises with s and always stays below σ_max. The box below the text quotes the factor and σ_max of the run shown.

This is the "init a little too large → exploding, a little too small → vanishing" knob: change init_scale and start a new run. Training moves the singular values (watch them drift), so the initial scale decides mostly the early phase.""",
        "ko": """\
시간을 한 스텝 거슬러 갈 때마다 기울기에 J_t^T = W_hh^T · diag(tanh'(a_t))가 곱해지므로
||dL/dh_{t-1}|| ≤ σ_max(W_hh) · max|tanh'| · ||dL/dh_t|| ≤ σ_max(W_hh) · ||dL/dh_t|| 입니다.
σ_max < 1이면 기울기는 반드시 소실되고, σ_max > 1이면 커질 수 있습니다(반드시 커지지는 않음: tanh' < 1과 방향이 영향을 줌).

덧셈 문제(T = 40, 손실은 마지막 스텝에만 있으므로 t < 39의 ||dL/dh_t||는 순수한 역전파)를 푸는 세 tanh RNN이 W_hh = s × (직교 행렬)로 시작합니다. 모든 특이값이 s = 0.5, 1, 2입니다. 특이값 패널(1의 기준선)과 기울기 흐름 패널을 보세요. 한 스텝 거슬러 갈 때의 배율은 s = 0.5에서 1보다 작고(소실), s = 1에서도 1보다 작으며(tanh' < 1 때문에 경계 사례가 소실 쪽으로 기움), s = 2에서는 1보다 큽니다(t = 0 쪽으로 커짐). 배율은 s와 함께 커지고 항상 σ_max보다 작습니다. 본문 아래 상자에 지금 보이는 실행의 배율과 σ_max가 나옵니다.

이것이 "초기화가 조금 크면 폭주, 조금 작으면 소실"의 손잡이입니다. init_scale을 바꾸고 새 실행을 시작해 보세요. 학습하면서 특이값이 움직이므로(변화를 지켜보세요) 초기 스케일은 주로 초기 단계를 결정합니다.""",
    },
    "highway": {
        "en": """\
The LSTM cell state is updated only by + and elementwise ×:
c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t,  h_t = o_t ⊙ tanh(c_t),
so along the cell path ∂c_t/∂c_{t-1} = diag(f_t): no weight matrix, no tanh'. When f ≈ 1 the gradient flows back through c almost unchanged: the "gradient highway". Over k steps it is scaled by the product of the forget gates.

The forget-gate bias sets where f starts: σ(0) = 0.5, σ(1) ≈ 0.73, σ(2) ≈ 0.88. Three LSTMs on the copy task with delay 40 differ only in that bias. 0.5^59 ≈ 2e-18 while 0.88^59 ≈ 5e-4: watch dL/dc_t next to dL/dh_t in the gradient-flow panel, and the forget gate in the gates panel. The ratio ||dL/dc_0|| / ||dL/dc_59|| rises with the bias, by more than a hundredfold from bias 0 to bias 2, and with bias 2 it is larger than the same ratio for h: the cell path carries the gradient farther than h. (With f ≈ 0.9 the gradient injected at the recall steps can even pile up along c, larger at t = 0 than at the end.) The box below the text quotes both ratios and the mean forget gate of the run shown.

Limits: f is learned and input-dependent, so the highway can close during training; gradients also travel through h, W_hh and the gates, where they still vanish or explode. A large forget bias also makes the cell slow to forget what it should drop. Try the forget-gate breakpoint (mean f < 0.6): it pauses the bias-0 run.""",
        "ko": """\
LSTM의 셀 상태는 덧셈과 원소별 곱으로만 갱신됩니다:
c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t,  h_t = o_t ⊙ tanh(c_t).
그래서 셀 경로를 따라 ∂c_t/∂c_{t-1} = diag(f_t)이며 가중치 행렬도 tanh'도 없습니다. f ≈ 1이면 기울기가 c를 거의 그대로 거슬러 흐릅니다. 이것이 "그래디언트 고속도로"입니다. k 스텝 동안 기울기는 망각 게이트들의 곱만큼 배율이 바뀝니다.

망각 게이트 편향은 f의 시작값을 정합니다: σ(0) = 0.5, σ(1) ≈ 0.73, σ(2) ≈ 0.88. 지연 40의 복사 과제를 푸는 세 LSTM은 이 편향만 다릅니다. 0.5^59 ≈ 2e-18인 반면 0.88^59 ≈ 5e-4입니다. 기울기 흐름 패널에서 dL/dc_t와 dL/dh_t를 나란히, 게이트 패널에서 망각 게이트를 보세요. ||dL/dc_0|| / ||dL/dc_59||는 편향과 함께 커지며, 편향 0에서 편향 2로 가면 백 배 넘게 커집니다. 편향 2에서는 h의 같은 비율보다도 큽니다. 셀 경로가 h보다 기울기를 더 멀리 전달합니다. (f ≈ 0.9이면 회상 스텝에서 들어온 기울기가 c를 따라 쌓여 t = 0에서 오히려 끝보다 커질 수도 있습니다.) 본문 아래 상자에 지금 보이는 실행의 두 비율과 평균 망각 게이트가 나옵니다.

한계: f는 학습되고 입력에 따라 달라지므로 학습 중 고속도로가 닫힐 수 있습니다. 기울기는 h, W_hh, 게이트를 통해서도 흐르며 그 경로에서는 여전히 소실되거나 폭주합니다. 큰 망각 편향은 버려야 할 정보를 늦게 잊게 만들기도 합니다. 망각 게이트 브레이크포인트(평균 f < 0.6)를 켜 보세요. 편향 0인 실행이 멈춥니다.""",
    },
    "gru-vs-lstm": {
        "en": """\
rnnscope shows PyTorch's nn.GRU formulation:
r = σ(W_ir x + b_ir + W_hr h_{t-1} + b_hr),  z = σ(W_iz x + b_iz + W_hz h_{t-1} + b_hz),
n = tanh(W_in x + b_in + r ⊙ (W_hn h_{t-1} + b_hn)),  h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}.
The course writes h_t = (1 - z_t) ⊙ h_{t-1} + z_t ⊙ tanh(W x_t + U (r_t ⊙ h_{t-1}) + b). Two differences: the roles of z are swapped (PyTorch's z near 1 keeps the old state; the gates panel shows PyTorch's z), and PyTorch applies r after the recurrent matmul, the course before it.

Either way there is no cell state: h_t is a convex combination of h_{t-1} and the candidate, and the GRU has 3 gate blocks where the LSTM has 4. Parameters per layer: GRU 3·H·(I + H + 2), LSTM 4·H·(I + H + 2), so the recurrent part is exactly 3/4 (here 18,816 vs 25,088 with H = 64).

Both learn the adding problem (T = 30) with the same optimizer and seed; the LSTM starts with forget bias 1. Compare the loss and accuracy curves, the parameter counts and the step time in the Runs panel (the comparison table at the bottom). Which one is ahead at step 400, and by how much, is one task and one seed, not a law (the box below the text quotes the accuracy of the run shown): published comparisons (Chung et al. 2014, Jozefowicz et al. 2015) find no consistent winner. Step time on a CPU at this size differs little and is noisy: the GRU has fewer matmul columns but more elementwise work.""",
        "ko": """\
rnnscope는 PyTorch nn.GRU의 식을 보여 줍니다:
r = σ(W_ir x + b_ir + W_hr h_{t-1} + b_hr),  z = σ(W_iz x + b_iz + W_hz h_{t-1} + b_hz),
n = tanh(W_in x + b_in + r ⊙ (W_hn h_{t-1} + b_hn)),  h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}.
강의 노트는 h_t = (1 - z_t) ⊙ h_{t-1} + z_t ⊙ tanh(W x_t + U (r_t ⊙ h_{t-1}) + b)로 씁니다. 차이는 두 가지입니다. z의 역할이 반대이고(PyTorch의 z가 1에 가까우면 이전 상태를 유지하며, 게이트 패널은 PyTorch의 z를 보여 줌), PyTorch는 r을 순환 행렬곱 뒤에, 강의 노트는 앞에 적용합니다.

어느 쪽이든 셀 상태는 없습니다. h_t는 h_{t-1}과 후보값의 볼록 결합이고, GRU의 게이트 블록은 3개, LSTM은 4개입니다. 층당 파라미터는 GRU 3·H·(I + H + 2), LSTM 4·H·(I + H + 2)이므로 순환 부분은 정확히 3/4입니다(여기서 H = 64일 때 18,816 대 25,088).

두 모델은 같은 옵티마이저와 시드로 덧셈 문제(T = 30)를 학습합니다. LSTM은 망각 편향 1로 시작합니다. Runs 패널(아래쪽 비교 표)에서 손실과 정확도 곡선, 파라미터 수, 스텝 시간을 비교하세요. 400 스텝에서 어느 쪽이 얼마나 앞서는지는 과제 하나, 시드 하나의 결과일 뿐 법칙이 아닙니다(본문 아래 상자에 지금 보이는 실행의 정확도가 나옵니다). 발표된 비교 연구(Chung et al. 2014, Jozefowicz et al. 2015)에서도 일관된 승자는 없었습니다. 이 크기에서 CPU 스텝 시간 차이는 작고 변동이 큽니다. GRU는 행렬곱 열이 적지만 원소별 연산이 더 많습니다.""",
    },
    "seq2seq": {
        "en": """\
An encoder reads the whole source; its last hidden state (and cell state) initialises the decoder; the decoder starts from <SOS> and is autoregressive: it models P(y_t | y_<t, x). The task reverses 4 to 8 letters (target = reversed source + <eos>), so input and output lengths vary from sample to sample.

Teacher forcing feeds the true y_{t-1} during training (with probability p per position; otherwise the model's own previous prediction, scheduled sampling). At inference there is no truth to feed: the decoder always feeds its own prediction. Three runs differ only in p = 1.0, 0.5, 0.0. The sample panel shows, for the same probe sample, the teacher-forced output and the free-running (greedy) output.

What to look for: with p = 1.0 the teacher-forced output is right more often than the free-running one (the box below the text quotes both token accuracies of the probe sample at the step shown): the decoder never learned to continue after its own mistakes (exposure bias), and one early error derails the rest. With p = 0.0 both outputs are the same (it is trained the way it is used), which can make it slower to start. p = 0.5 lies in between.

Careful when comparing runs: the training metric of each step is measured with that run's own feeding (teacher-forced for p = 1.0). Compare the free-running outputs across runs, not the training metric.""",
        "ko": """\
인코더가 입력 전체를 읽고, 그 마지막 은닉 상태(와 셀 상태)로 디코더를 초기화합니다. 디코더는 <SOS>에서 시작해 자기회귀적으로 P(y_t | y_<t, x)를 모델링합니다. 과제는 4~8개의 글자를 뒤집는 것(타깃 = 뒤집은 입력 + <eos>)이라 샘플마다 입력과 출력 길이가 다릅니다.

교사 강요(teacher forcing)는 학습 중 정답 y_{t-1}을 입력으로 넣습니다(위치마다 확률 p로, 아니면 모델 자신의 이전 예측: scheduled sampling). 추론 때는 넣을 정답이 없으므로 디코더는 항상 자신의 예측을 넣습니다. 세 실행은 p = 1.0, 0.5, 0.0만 다릅니다. 샘플 패널은 같은 프로브 샘플에 대해 교사 강요 출력과 자유 실행(greedy) 출력을 함께 보여 줍니다.

볼 것: p = 1.0에서는 교사 강요 출력이 자유 실행 출력보다 더 자주 맞습니다(본문 아래 상자에 보이는 스텝에서 프로브 샘플의 두 토큰 정확도가 나옵니다). 디코더가 자기 실수 뒤를 잇는 법을 배운 적이 없어서(노출 편향, exposure bias) 초반의 오류 하나가 나머지를 망칩니다. p = 0.0에서는 두 출력이 같습니다(사용하는 방식대로 학습됨). 대신 처음에 더 느리게 배울 수 있습니다. p = 0.5는 그 사이입니다.

실행을 비교할 때 주의: 각 스텝의 학습 지표는 그 실행 자신의 입력 방식으로 측정됩니다(p = 1.0이면 교사 강요). 실행끼리는 학습 지표가 아니라 자유 실행 출력을 비교하세요.""",
    },
    "language-model": {
        "en": """\
A character-level language model of Shakespeare's Coriolanus (58 symbols): a 2-layer LSTM (H = 128) predicts the next character; the metric is perplexity = exp(cross-entropy), lower is better. Four runs differ in one thing each: no dropout; dropout 0.3; variational dropout 0.3; weight tying.

Dropout here acts on the non-recurrent connections: the embedded input, between the stacked layers and before the read-out (Zaremba et al. 2014). Variational dropout draws one mask per sequence and reuses it at every timestep of that layer (Gal & Ghahramani 2016; rnnscope leaves the recurrent connection unmasked). Weight tying makes the embedding and the output projection one V × H matrix, which removes V·H parameters: 58 × 128 = 7,424 here (279,098 → 271,674).

What to look for (validation perplexity, in the Runs panel at the bottom): the training text is small, so a run without dropout can overfit within a few hundred steps: watch for its validation perplexity to stop improving or turn back up while its training perplexity keeps falling. Dropout keeps training perplexity higher and is meant to keep validation improving for longer; how variational and standard dropout compare at this size, one seed cannot tell. The box below the text quotes the training perplexity of the run shown; the Runs panel has every run's validation.

Honest limits: with 58 characters tying saves under 3% of the parameters; it pays off for word-level models where V is tens of thousands. In this setup the tied run can also start more slowly, because the shared matrix is initialised small, as a read-out.""",
        "ko": """\
셰익스피어 『코리올레이너스』의 문자 단위 언어 모델입니다(기호 58개). 2층 LSTM(H = 128)이 다음 문자를 예측하며, 지표는 퍼플렉서티 = exp(교차 엔트로피)로 낮을수록 좋습니다. 네 실행은 각각 한 가지만 다릅니다: 드롭아웃 없음, 드롭아웃 0.3, 변분(variational) 드롭아웃 0.3, 가중치 공유(weight tying).

여기서 드롭아웃은 순환이 아닌 연결에 적용됩니다: 임베딩된 입력, 쌓인 층 사이, 출력층 직전(Zaremba et al. 2014). 변분 드롭아웃은 시퀀스마다 마스크를 하나 뽑아 그 층의 모든 타임스텝에 재사용합니다(Gal & Ghahramani 2016; rnnscope는 순환 연결에는 마스크를 적용하지 않음). 가중치 공유는 임베딩과 출력 투영을 하나의 V × H 행렬로 만들어 V·H개의 파라미터를 없앱니다: 여기서는 58 × 128 = 7,424개(279,098 → 271,674).

볼 것(아래쪽 Runs 패널의 검증 퍼플렉서티): 학습 텍스트가 작아서 드롭아웃 없는 실행은 수백 스텝 안에 과적합할 수 있습니다. 학습 퍼플렉서티는 계속 떨어지는데 검증 퍼플렉서티가 더 좋아지지 않거나 다시 올라가는지 보세요. 드롭아웃은 학습 퍼플렉서티를 더 높게 유지하며, 검증이 더 오래 좋아지게 하려는 것입니다. 이 크기에서 변분 드롭아웃과 일반 드롭아웃의 우열은 시드 하나로는 알 수 없습니다. 본문 아래 상자에 지금 보이는 실행의 학습 퍼플렉서티가 나오고, Runs 패널에 모든 실행의 검증 값이 있습니다.

한계: 문자 58개에서는 가중치 공유가 파라미터를 3% 미만 줄일 뿐이며, V가 수만인 단어 단위 모델에서 효과가 큽니다. 이 설정에서는 공유 행렬이 출력층처럼 작게 초기화되어 공유한 실행이 처음에 더 느리게 배울 수 있습니다.""",
    },
}
