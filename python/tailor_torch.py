"""The PyTorch modules equivalent to tailor's built-in models (docs/interop.md).

A tailor model file (model.safetensors in a run folder) loads into these with strict checking:

    import tailor_torch
    model = tailor_torch.load("runs/x/model.safetensors")   # an nn.Module in eval mode
    logits = model(images)                                  # images normalised as in the run

Tensor names are the modules' state_dict names ("backbone.conv1.weight", "head.bias", ...); the
ImageNet ResNets (resnet10/18/34/50, resnext50) are torchvision's own modules with torchvision's
names ("conv1.weight", "layer1.0.bn1.running_mean", "fc.weight" for the linear head).
The distillation losses of `--distill` (kd_loss, rkd_distance, rkd_angle) are at the end.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

import st


class CNNBackbone(nn.Module):
    """Conv3x3(32)-BN-ReLU, AvgPool2, Conv3x3(64)-BN-ReLU, AvgPool2, Conv3x3(D)-BN-ReLU, GAP, BN1d(D)."""

    def __init__(self, in_ch, feat_dim):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, 32, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(64)
        self.conv3 = nn.Conv2d(64, feat_dim, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(feat_dim)
        self.bn_feat = nn.BatchNorm1d(feat_dim)

    def forward(self, x):
        x = F.avg_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.avg_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        x = F.relu(self.bn3(self.conv3(x)))
        return self.bn_feat(x.mean(dim=(2, 3)))


class BasicBlock(nn.Module):
    """CIFAR ResNet basic block with the option-A shortcut (kaiming_normal_ conv init)."""

    def __init__(self, in_planes, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.pad = (planes - in_planes) // 2 if (stride != 1 or in_planes != planes) else None

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        sc = x if self.pad is None else F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))
        return F.relu(out + sc)


class ResNet32Backbone(nn.Module):
    def __init__(self, in_ch=3):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        layers, in_planes = [], 16
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            blocks = []
            for b in range(5):
                blocks.append(BasicBlock(in_planes, planes, stride if b == 0 else 1))
                in_planes = planes
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = layers
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return x.mean(dim=(2, 3))


class MLPBackbone(nn.Module):
    """For each hidden size h: Linear(h)-BatchNorm1d(h)-ReLU (then Dropout(p) when p > 0)."""

    def __init__(self, in_features, hidden, dropout=0.0):
        super().__init__()
        self.depth, self.dropout = len(hidden), dropout
        for i, h in enumerate(hidden):
            setattr(self, f"fc{i + 1}", nn.Linear(in_features, h))
            setattr(self, f"bn{i + 1}", nn.BatchNorm1d(h))
            in_features = h

    def forward(self, x):
        x = x.flatten(1)
        for i in range(self.depth):
            x = F.relu(getattr(self, f"bn{i + 1}")(getattr(self, f"fc{i + 1}")(x)))
            if self.dropout > 0:
                x = F.dropout(x, self.dropout, self.training)
        return x


def _unit_rows(num_classes, feat_dim):
    w = torch.empty(num_classes, feat_dim).uniform_(-1, 1)
    return w / w.norm(dim=1, keepdim=True)


def _cosines(x, w):
    return F.normalize(x, dim=1) @ F.normalize(w, dim=1).t()


def _target(labels, c):
    return F.one_hot(labels, c.shape[1]).bool()


DELTA = 1e-7  # the acos clamp of tailor's angular heads (docs/methods.md §0.2, float32 features)


class LinearHead(nn.Linear):
    def forward(self, x, labels=None):
        return super().forward(x)


class CosineHead(nn.Module):
    """logits = s * normalize(x) @ normalize(W).T, W [C, D] (docs/methods.md §0.4; LDAM's NormedLinear)."""

    def __init__(self, feat_dim, num_classes, s=30.0):
        super().__init__()
        self.s = s
        self.weight = nn.Parameter(_unit_rows(num_classes, feat_dim))

    def forward(self, x, labels=None):
        return self.s * _cosines(x, self.weight)


class MarginHead(CosineHead):
    """CosFace, ArcFace and the combined margin (docs/methods.md §4.2-4.4): the target logit becomes
    s * phi(cos) in training (labels given); s * cos otherwise."""

    def __init__(self, feat_dim, num_classes, kind, keys):
        super().__init__(feat_dim, num_classes, float(keys.get("s", 30)))
        self.kind, self.k = kind, keys

    def phi(self, c):
        k = self.k
        if self.kind == "cosface":
            return c - float(k.get("m", 0.35))
        cc = c.clamp(-1 + DELTA, 1 - DELTA)
        if self.kind == "arcface":
            m, rule = float(k.get("m", 0.5)), k.get("rule", "hard")
            arc = cc * math.cos(m) - torch.sqrt(1 - cc * cc) * math.sin(m)
            if rule == "hard":
                return torch.where(cc > math.cos(math.pi - m), arc, cc - math.sin(math.pi - m) * m)
            return torch.where(cc > 0, arc, cc) if rule == "easy" else arc
        m1, m2, m3 = float(k.get("m1", 1)), float(k.get("m2", 0.3)), float(k.get("m3", 0.2))
        a = m1 * torch.acos(cc) + m2
        phi = torch.cos(a) - m3
        if k.get("fallback", "0") in ("1", "true", "yes", "on"):
            phi = torch.where(a > math.pi, cc - (math.cos((math.pi - m2) / m1) + 1 + m3), phi)
        return phi

    def forward(self, x, labels=None):
        c = _cosines(x, self.weight)
        if labels is None:
            return self.s * c
        cy = c.gather(1, labels[:, None])
        phi = self.phi(cy)
        if self.k.get("grad") == "straight":
            phi = cy + (phi - cy).detach()
        return self.s * torch.where(_target(labels, c), phi.expand_as(c), c)


def sphere_psi(c, m):
    """(-1)^k T_m(c) - 2k, k = #{j in 1..m-1: c < cos(j pi/m)} (docs/methods.md §4.1)."""
    t0, t1 = torch.ones_like(c), c
    for _ in range(m - 1):
        t0, t1 = t1, 2 * c * t1 - t0
    k = torch.zeros_like(c)
    for j in range(1, m):
        k = k + (c < math.cos(j * math.pi / m)).to(c.dtype)
    return torch.where(k % 2 == 1, -torch.ones_like(c), torch.ones_like(c)) * t1 - 2 * k


class SphereHead(nn.Module):
    """L-Softmax (raw weights) and A-Softmax/SphereFace (normalised weights) with lambda annealing
    over training forwards (docs/methods.md §4.1); logits rho * cos at inference."""

    def __init__(self, feat_dim, num_classes, normalized, keys):
        super().__init__()
        self.normalized = normalized
        self.m = int(keys.get("m", 4))
        self.base, self.gamma = float(keys.get("base", 1000)), float(keys.get("gamma", 0.12))
        self.power, self.lambda_min = float(keys.get("power", 1)), float(keys.get("lambda_min", 5))
        self.forwards = 0
        if normalized:
            self.weight = nn.Parameter(_unit_rows(num_classes, feat_dim))
        else:
            bound = 1 / math.sqrt(feat_dim)
            self.weight = nn.Parameter(torch.empty(num_classes, feat_dim).uniform_(-bound, bound))

    def forward(self, x, labels=None):
        rho = x.norm(dim=1, keepdim=True) * (1 if self.normalized else self.weight.norm(dim=1)[None, :])
        c = _cosines(x, self.weight)
        if labels is None:
            return rho * c
        self.forwards += 1
        lam = max(self.lambda_min, self.base * (1 + self.gamma * self.forwards) ** -self.power)
        return rho * torch.where(_target(labels, c), (lam * c + sphere_psi(c, self.m)) / (1 + lam), c)


class AffinityHead(nn.Module):
    """Gaussian similarities to M centres per class, max over the centres (docs/methods.md §6); the logits
    are the similarities (the max-margin loss lives in tailor's head, not here)."""

    def __init__(self, feat_dim, num_classes, keys):
        super().__init__()
        self.sigma = float(keys.get("sigma", 10))
        self.centres = nn.Parameter(torch.randn(num_classes, int(keys.get("centres", 1)), feat_dim) * math.sqrt(2 / feat_dim))

    def forward(self, x, labels=None):
        return torch.exp(-((x[:, None, None, :] - self.centres[None]) ** 2).sum(-1) / self.sigma).amax(dim=2)


class UniformFaceHead(MarginHead):
    """CosFace logits; the centre buffer of the uniform loss travels as the buffer `centres`."""

    def __init__(self, feat_dim, num_classes, keys):
        super().__init__(feat_dim, num_classes, "cosface", {k: v for k, v in keys.items() if k in ("s", "m")})
        self.register_buffer("centres", torch.zeros(num_classes, feat_dim))


class AdaptiveFaceHead(CosineHead):
    """CosFace with per-class margins m_c = 0.35 + margin_delta_c (docs/methods.md §7.2)."""

    def __init__(self, feat_dim, num_classes, keys):
        super().__init__(feat_dim, num_classes, float(keys.get("s", 30)))
        bound = 1 / math.sqrt(400)
        self.margin_delta = nn.Parameter(torch.empty(num_classes).uniform_(-bound, bound))

    def forward(self, x, labels=None):
        c = _cosines(x, self.weight)
        if labels is None:
            return self.s * c
        m = (0.35 + self.margin_delta)[labels][:, None]
        return self.s * torch.where(_target(labels, c), c - m, c)


class UncertaintyHead(SphereHead):
    """tailor's formulation of "Striking the right balance with uncertainty" (docs/methods.md §5.2): the
    A-Softmax (or, weights=raw, L-Softmax) head with real class margins (buffer `margins`, refreshed
    by tailor's Monte-Carlo passes) and the misclassification-probability penalty in training."""

    def __init__(self, feat_dim, num_classes, keys):
        super().__init__(feat_dim, num_classes, keys.get("weights", "normalized") != "raw",
                         {k: v for k, v in keys.items() if k in ("base", "gamma", "power", "lambda_min")})
        self.k = keys
        self.register_buffer("margins", torch.ones(num_classes))

    def forward(self, x, labels=None):
        k, w = self.k, self.weight
        rho = x.norm(dim=1, keepdim=True) * (1 if self.normalized else w.norm(dim=1)[None, :])
        c = _cosines(x, w)
        plain = rho * c
        if labels is None:
            return plain
        self.forwards += 1
        lam = max(self.lambda_min, self.base * (1 + self.gamma * self.forwards) ** -self.power)
        p, alpha = float(k.get("p", 0.5)), float(k.get("alpha", 1))
        mask = _target(labels, c)
        my = self.margins.to(x.dtype)[labels][:, None]
        cy = c.gather(1, labels[:, None])
        th = torch.acos(cy.clamp(-1 + DELTA, 1 - DELTA))
        kk = torch.minimum(torch.floor(my * th / math.pi), torch.ceil(my) - 1)
        psi = torch.where(kk % 2 == 1, -torch.ones_like(kk), torch.ones_like(kk)) * torch.cos(my * th) - 2 * kk
        wv = F.normalize(w, dim=1) if self.normalized else w

        def prob(j):
            a = wv[j] - wv[labels]
            mu = (a * x).sum(1)
            sig = torch.sqrt((a * a * x * x * p / (1 - p)).sum(1) + 1e-12)
            return 0.5 * torch.erfc(-mu / sig / math.sqrt(2))

        if k.get("competitor", "max") == "union":
            P = sum(torch.where(labels != j, prob(torch.full_like(labels, j)), torch.zeros_like(x[:, 0]))
                    for j in range(c.shape[1])).clamp(max=1)
        else:
            P = prob(plain.detach().masked_fill(mask, -math.inf).argmax(1))
        if k.get("penalty_grad") == "detach":
            P = P.detach()
        ry = rho.expand_as(c).gather(1, labels[:, None])
        fy = (lam * ry * cy + ry * (psi - alpha * P[:, None])) / (1 + lam)
        return torch.where(mask, fy.expand_as(c), plain)


def point_dist(x, points, num_classes):
    """d_e(x, k) = (1/M) sum_m ||x - q_{k,m}||^2 / D, points [C*M, D] (docs/methods.md §13; the direct sum of
    squared differences, as tailor computes it)."""
    n, d = x.shape
    diff = x[:, None, :] - points[None, :, :]
    return (diff * diff).sum(-1).reshape(n, num_classes, -1).mean(-1) / d


class RPLHead(nn.Module):
    """Reciprocal points (docs/methods.md §13.1): logits = gamma * d_e(x, k); the open-space loss
    lambda * mean_i (d_e(x_i, y_i) - R_{y_i})^2 with the learnable radius R ([1] shared or [C])."""

    def __init__(self, feat_dim, num_classes, points=1, gamma=1.0, lam=0.1, radius="shared", score="prob"):
        super().__init__()
        self.num_classes, self.gamma, self.lam, self.score = num_classes, gamma, lam, score
        self.points = nn.Parameter(0.1 * torch.randn(num_classes * points, feat_dim))
        self.radius = nn.Parameter(torch.zeros(num_classes if radius == "per-class" else 1))

    def forward(self, x, labels=None):
        return self.gamma * point_dist(x, self.points, self.num_classes)

    def regularizer(self, x, labels):
        d = point_dist(x, self.points, self.num_classes).gather(1, labels[:, None])[:, 0]
        r = self.radius[labels] if self.radius.numel() > 1 else self.radius[0]
        return self.lam * ((d - r) ** 2).mean()

    def unknown_score(self, logits):
        return logits.max(1)[0] if self.score == "logit" else F.softmax(logits, 1).max(1)[0]


class GCPLHead(nn.Module):
    """Prototypes (docs/methods.md §13.3): logits = -gamma * d_e(x, k); the prototype loss
    lambda * sum_i d_e(x_i, y_i) / (2N) (= F.mse_loss(x, q_y) / 2 for one prototype per class)."""

    def __init__(self, feat_dim, num_classes, points=1, gamma=1.0, lam=0.1, score="prob"):
        super().__init__()
        self.num_classes, self.gamma, self.lam, self.score = num_classes, gamma, lam, score
        self.prototypes = nn.Parameter(0.1 * torch.randn(num_classes * points, feat_dim))

    def forward(self, x, labels=None):
        return -self.gamma * point_dist(x, self.prototypes, self.num_classes)

    def regularizer(self, x, labels):
        d = point_dist(x, self.prototypes, self.num_classes).gather(1, labels[:, None])[:, 0]
        return self.lam * d.sum() / (2 * x.shape[0])

    def unknown_score(self, logits):
        return logits.max(1)[0] if self.score == "logit" else F.softmax(logits, 1).max(1)[0]

class CausalHead(nn.Module):
    """Causal-norm multi-head classifier of TDE (docs/methods.md §9): K chunks, x_k/|x_k| . w_ck/(|w_ck| + gamma),
    scaled by tau/K. Training forwards update the buffer embed_mean <- mu * embed_mean + mean(x); evaluation
    forwards return the TDE logits with the counterfactual alpha * cos_k * c_k removed from each chunk."""

    def __init__(self, feat_dim, num_classes, heads=2, tau=16.0, gamma=1 / 32, alpha=1.0, mu=0.9):
        super().__init__()
        self.K, self.scale, self.gamma, self.alpha, self.mu = heads, tau / heads, gamma, alpha, mu
        bound = 1 / feat_dim ** 0.5
        self.weight = nn.Parameter(torch.empty(num_classes, feat_dim).uniform_(-bound, bound))
        self.register_buffer("embed_mean", torch.zeros(feat_dim))

    def forward(self, x, labels=None):
        K = self.K
        xs, ws = x.chunk(K, dim=1), self.weight.chunk(K, dim=1)
        xh = [c / c.norm(dim=1, keepdim=True).clamp_min(1e-12) for c in xs]
        wh = [w / (w.norm(dim=1, keepdim=True) + self.gamma) for w in ws]
        if self.training:
            with torch.no_grad():
                self.embed_mean.mul_(self.mu).add_(x.detach().mean(0))
            return self.scale * sum(a @ b.t() for a, b in zip(xh, wh))
        out = 0
        for a, b, c in zip(xh, wh, self.embed_mean.chunk(K)):
            n = c.norm()
            ch = c / n if n >= 1e-12 else torch.zeros_like(c)
            out = out + self.scale * (a - self.alpha * (a @ ch)[:, None] * ch) @ b.t()
        return out


class NCMHead(nn.Module):
    """Nearest class mean on cl2n features (docs/methods.md §8.2): g = normalize(x - feat_mean);
    l2: -max(|g|^2 + |mu_c|^2 - 2 g.mu_c, 0); cosine: g . mu_c/|mu_c|. Fixed buffers, no parameters."""

    def __init__(self, feat_dim, num_classes, metric="l2"):
        super().__init__()
        self.metric = metric
        self.register_buffer("feat_mean", torch.zeros(feat_dim))
        self.register_buffer("centroids", torch.zeros(num_classes, feat_dim))

    def forward(self, x, labels=None):
        g = F.normalize(x - self.feat_mean, dim=1, eps=1e-12)
        mu = self.centroids
        if self.metric == "cosine":
            return g @ F.normalize(mu, dim=1, eps=1e-12).t()
        d = (g * g).sum(1, keepdim=True) + (mu * mu).sum(1)[None, :] - 2 * g @ mu.t()
        return -d.clamp_min(0)


class LWSHead(nn.Module):
    """Learnable weight scaling (docs/methods.md §8.4): scale_c * (w_c . x + b_c), weight and bias fixed buffers."""

    def __init__(self, feat_dim, num_classes):
        super().__init__()
        self.register_buffer("weight", torch.zeros(num_classes, feat_dim))
        self.register_buffer("bias", torch.zeros(num_classes))
        self.scale = nn.Parameter(torch.ones(num_classes))

    def forward(self, x, labels=None):
        return self.scale * (x @ self.weight.t() + self.bias)


SLA_M = 4  # rotations of SLA (docs/methods.md §11)
_TRUE = ("1", "true", "yes", "on")


def rotations(x):
    """SLA's input expansion (docs/methods.md §11.1): x [N, c, H, H] -> [N*4, c, H, H], row i*4 + t =
    torch.rot90(x[i], t, dims=(1, 2))."""
    return torch.stack([torch.rot90(x, t, dims=(2, 3)) for t in range(SLA_M)], 1).flatten(0, 1)


def sla_aggregate(joint, t=None):
    """Joint logits [N*4, C*4] (row i*4 + t, column c*4 + t) -> class logits [N, C]: the mean over the
    rotations of each rotation's own column (t None), or rotation t's alone (t = 0: single inference)."""
    n, k = joint.shape[0] // SLA_M, joint.shape[1] // SLA_M
    own = torch.diagonal(joint.reshape(n, SLA_M, k, SLA_M), dim1=1, dim2=3)  # [N, C, M]
    return own.mean(-1) if t is None else own[..., t]


def sla_joint_loss(joint, labels, large_loss=False):
    """Mean CE over the N*4 rows with joint labels y*4 + t (times 4 with large_loss)."""
    jy = (labels[:, None] * SLA_M + torch.arange(SLA_M)).flatten()
    loss = F.cross_entropy(joint, jy)
    return loss * SLA_M if large_loss else loss


def sla_sd_loss(h, zbar, labels, T=1.0):
    """SLA+SD (docs/methods.md §11.3): CE(h, y) + T^2 KL(softmax(zbar/T) || softmax(h/T)), zbar detached."""
    kl = F.kl_div(F.log_softmax(h / T, 1), F.softmax(zbar.detach() / T, 1), reduction="batchmean")
    return F.cross_entropy(h, labels) + T * T * kl


class SLAHead(nn.Module):
    """The joint classifier over (class, rotation), `joint` = Linear(D, C*4), on the features of the
    N*4 rotated rows, and with sd=1 the distilled head `sd` = Linear(D, C) on the rotation-0 rows
    (docs/methods.md §11.2-11.3). Class logits: in training the aggregate (or sd's); at inference `infer`:
    "agg", "single" or "sd" (default sd with sd=1, else agg). loss() is tailor's training objective."""

    def __init__(self, feat_dim, num_classes, keys):
        super().__init__()
        self.distill = keys.get("sd", "0") in _TRUE
        self.T = float(keys.get("T", 1))
        self.large_loss = keys.get("large_loss", "0") in _TRUE
        self.training_agg = keys.get("training_agg", "0") in _TRUE
        self.joint = nn.Linear(feat_dim, num_classes * SLA_M)
        if self.distill:
            self.sd = nn.Linear(feat_dim, num_classes)
        self.infer = "sd" if self.distill else "agg"

    def forward(self, feat, labels=None):
        mode = ("sd" if self.distill else "agg") if labels is not None else self.infer
        if mode == "sd":
            return self.sd(feat[::SLA_M])
        return sla_aggregate(self.joint(feat), 0 if mode == "single" else None)

    def loss(self, feat, labels):
        joint = self.joint(feat)
        zbar = sla_aggregate(joint)
        loss = sla_joint_loss(joint, labels, self.large_loss)
        if self.training_agg:
            loss = loss + F.cross_entropy(zbar, labels)
        if self.distill:
            loss = loss + sla_sd_loss(self.sd(feat[::SLA_M]), zbar, labels, self.T)
        return loss


def parse_spec(text):
    """'name:k=v,k=v' -> (name, {k: v})."""
    name, _, rest = text.partition(":")
    return name, dict(kv.split("=", 1) for kv in rest.split(",") if kv)


def make_head(spec, feat_dim, num_classes):
    name, keys = parse_spec(spec)
    if name == "linear":
        return LinearHead(feat_dim, num_classes)
    if name == "cosine":
        return CosineHead(feat_dim, num_classes, float(keys.get("s", 30)))
    if name == "rpl":
        return RPLHead(feat_dim, num_classes, int(keys.get("points", 1)), float(keys.get("gamma", 1)),
                       float(keys.get("lambda", 0.1)), keys.get("radius", "shared"), keys.get("score", "prob"))
    if name == "gcpl":
        return GCPLHead(feat_dim, num_classes, int(keys.get("points", 1)), float(keys.get("gamma", 1)),
                        float(keys.get("lambda", 0.1)), keys.get("score", "prob"))

    if name == "causal":
        return CausalHead(feat_dim, num_classes, int(keys.get("heads", 2)), float(keys.get("tau", 16)),
                          float(keys.get("gamma", 1 / 32)), float(keys.get("alpha", 1.0)), float(keys.get("mu", 0.9)))
    if name == "ncm":
        return NCMHead(feat_dim, num_classes, keys.get("metric", "l2"))
    if name == "lws":
        return LWSHead(feat_dim, num_classes)

    if name in ("cosface", "arcface", "combined"):
        return MarginHead(feat_dim, num_classes, name, keys)
    if name in ("lsoftmax", "sphereface"):
        return SphereHead(feat_dim, num_classes, name == "sphereface", keys)
    if name == "affinity":
        return AffinityHead(feat_dim, num_classes, keys)
    if name == "uniformface":
        return UniformFaceHead(feat_dim, num_classes, keys)
    if name == "adaptiveface":
        return AdaptiveFaceHead(feat_dim, num_classes, keys)
    if name == "uncertainty":
        return UncertaintyHead(feat_dim, num_classes, keys)
    if name == "sla":
        return SLAHead(feat_dim, num_classes, keys)
    raise ValueError(f"unknown head {spec}")


class Classifier(nn.Module):
    """backbone -> features [N, D] -> head -> logits [N, C]."""

    def __init__(self, backbone, feat_dim, num_classes, head="linear"):
        super().__init__()
        self.backbone = backbone
        self.head = make_head(head, feat_dim, num_classes)

    def forward(self, x, labels=None):
        """labels: the batch labels in training (margin heads change the target logit), else None."""
        return self.head(self.backbone(x), labels)


class SLA(Classifier):
    """A classifier with the sla head (tailor train --ssl sla): the backbone runs on the 4 rotations of
    every image. model(x) gives the class logits [N, C]; model.loss(x, labels) the training objective."""

    def forward(self, x, labels=None):
        return self.head(self.backbone(rotations(x)), labels)

    def loss(self, x, labels):
        return self.head.loss(self.backbone(rotations(x)), labels)


def torchvision_resnet(arch, num_classes=1000, in_ch=3):
    """The torchvision module of an ImageNet ResNet tailor knows; resnet10 is ResNet(BasicBlock,
    [1, 1, 1, 1]) as the Decoupling code defines it, resnext50 is resnext50_32x4d."""
    import torchvision.models as tvm
    from torchvision.models.resnet import BasicBlock, ResNet
    if arch == "resnet10":
        model = ResNet(BasicBlock, [1, 1, 1, 1], num_classes=num_classes)
    else:
        model = getattr(tvm, "resnext50_32x4d" if arch == "resnext50" else arch)(num_classes=num_classes)
    if in_ch != 3:
        model.conv1 = nn.Conv2d(in_ch, 64, 7, 2, 3, bias=False)
        nn.init.kaiming_normal_(model.conv1.weight, mode="fan_out", nonlinearity="relu")
    return model


RESNETS = ("resnet10", "resnet18", "resnet34", "resnet50", "resnext50")


class ResNetClassifier(nn.Module):
    """A torchvision ResNet with tailor's head: the state_dict keeps torchvision's names (conv1.*,
    layer*.*), then proj.* (the --feat-dim projection, when asked) and head.*. With the linear head
    and no projection, use torchvision's module itself (build does)."""

    def __init__(self, arch, in_ch, num_classes, feat_dim, head):
        super().__init__()
        tv = torchvision_resnet(arch, num_classes, in_ch)
        for name in ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool"):
            setattr(self, name, getattr(tv, name))
        natural = tv.fc.in_features
        self.proj = nn.Linear(natural, feat_dim) if feat_dim != natural else None
        self.rotate = parse_spec(head)[0] == "sla"
        self.fc = nn.Linear(feat_dim, num_classes) if head == "linear" else None
        self.head = make_head(head, feat_dim, num_classes) if head != "linear" else None

    def features(self, x):
        if self.rotate:
            x = rotations(x)
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = torch.flatten(self.avgpool(self.layer4(self.layer3(self.layer2(self.layer1(x))))), 1)
        return self.proj(x) if self.proj is not None else x

    def forward(self, x, labels=None):
        f = self.features(x)
        return self.fc(f) if self.fc is not None else self.head(f, labels)

    def loss(self, x, labels):
        return self.head.loss(self.features(x), labels)


def build(arch, in_shape, num_classes, feat_dim=128, hidden=(256, 128), dropout=0.0, head="linear"):
    c, h, w = in_shape
    if arch in RESNETS:
        if head == "linear" and feat_dim == (2048 if arch in ("resnet50", "resnext50") else 512):
            return torchvision_resnet(arch, num_classes, c)
        return ResNetClassifier(arch, c, num_classes, feat_dim, head)
    cls = SLA if parse_spec(head)[0] == "sla" else Classifier
    if arch == "cnn":
        return cls(CNNBackbone(c, feat_dim), feat_dim, num_classes, head)
    if arch == "resnet32":
        model = cls(ResNet32Backbone(c), 64, num_classes, head)
        for m in [model.head] + list(model.head.children()):
            if isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight)
        return model
    if arch == "mlp":
        return cls(MLPBackbone(c * h * w, hidden, dropout), hidden[-1], num_classes, head)
    raise ValueError(f"unknown arch {arch}")


def load(path):
    """Builds the module described by a tailor model file and loads its weights strictly."""
    tensors, meta = st.load(path)
    in_shape = tuple(int(v) for v in meta["input"].split(","))
    hidden = tuple(int(v) for v in meta["hidden"].split("/")) if meta.get("hidden") else (256, 128)
    model = build(meta["arch"], in_shape, int(meta["num_classes"]), int(meta["feat_dim"]), hidden,
                  float(meta.get("dropout", 0)), meta.get("head", "linear"))
    model.load_state_dict({k: torch.from_numpy(v) for k, v in tensors.items()}, strict=True)
    return model.eval()


# ---- distillation losses (docs/methods.md §10), written as the reference code writes them ----

def kd_loss(zs, zt, T):
    """Hinton KD: KL(softmax(zt/T) || softmax(zs/T)) averaged over the batch, times T²."""
    return F.kl_div(F.log_softmax(zs / T, dim=1), F.softmax(zt / T, dim=1), reduction="batchmean") * T * T


def pdist(e, eps=1e-12):
    """lenscloth/RKD metric/utils.py pdist: Euclidean distances, squared ones clamped at eps, zero diagonal."""
    e_square = e.pow(2).sum(dim=1)
    res = (e_square.unsqueeze(1) + e_square.unsqueeze(0) - 2 * e @ e.t()).clamp(min=eps).sqrt().clone()
    res[range(len(e)), range(len(e))] = 0
    return res


def rkd_distance(s, t):
    """RkdDistance: distances normalised by their mean positive value, smooth-L1, teacher detached."""
    with torch.no_grad():
        t_d = pdist(t)
        t_d = t_d / t_d[t_d > 0].mean()
    d = pdist(s)
    return F.smooth_l1_loss(d / d[d > 0].mean(), t_d)


def rkd_angle(s, t):
    """RKdAngle: cosines of the angles at every vertex of every triple, smooth-L1, teacher detached."""
    with torch.no_grad():
        td = F.normalize(t.unsqueeze(0) - t.unsqueeze(1), p=2, dim=2)
        t_angle = torch.bmm(td, td.transpose(1, 2)).view(-1)
    sd = F.normalize(s.unsqueeze(0) - s.unsqueeze(1), p=2, dim=2)
    return F.smooth_l1_loss(torch.bmm(sd, sd.transpose(1, 2)).view(-1), t_angle)
