import torch

from audiofront.models.efficientnet import EfficientNet, EfficientNetConfig, efficientnet_b0
from audiofront.models.mlp import MLP, masked_mean_std
from audiofront.models.small_cnn import SmallCNN


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def test_b0_parameter_count_matches_the_published_model():
    # torchvision's efficientnet_b0 has 5,288,548 parameters, of which the 1000-class classifier holds
    # 1280 * 1000 + 1000 = 1,281,000: the feature extractor (3-channel stem) has 4,007,548.
    assert n_params(efficientnet_b0(in_channels=3)) == 5_288_548 - 1_281_000
    # our 1-channel stem drops 2 input channels of the 3x3x32 stem convolution: 2 * 9 * 32 = 576
    assert n_params(efficientnet_b0()) == 4_007_548 - 576


def test_b0_shapes_and_stochastic_depth():
    m = EfficientNet(EfficientNetConfig(drop_path=0.2))
    m.eval()
    x = torch.randn(2, 32, 24)  # small: B0 is costly on CPU; 5 stride-2 stages still leave 1x1
    out = m(x)
    assert out.shape == (2, 1280)
    assert torch.equal(m(x), out)  # eval: no dropped paths, deterministic
    m.train()
    torch.manual_seed(0)
    a = m(x)
    torch.manual_seed(1)
    b = m(x)
    assert not torch.allclose(a, b)  # training: dropout / drop-path draw differently


def test_small_cnn_and_mlp_shapes():
    cnn = SmallCNN()
    assert cnn(torch.randn(3, 101, 13)).shape == (3, cnn.embed_dim)
    mlp = MLP(input_dim=40)
    assert mlp(torch.randn(3, 101, 40), torch.tensor([101, 50, 1])).shape == (3, 100)
    # the VAE paper's MLP: 2 x 100 units on a 2 * 40 input -> 80*100+100 + 100*100+100
    assert n_params(mlp) == 80 * 100 + 100 + 100 * 100 + 100


def test_masked_mean_std_ignores_padding():
    x = torch.randn(1, 10, 4)
    padded = torch.cat([x, 100 * torch.ones(1, 5, 4)], dim=1)
    a = masked_mean_std(x, torch.tensor([10]))
    b = masked_mean_std(padded, torch.tensor([10]))
    assert torch.allclose(a, b, atol=1e-6)
    assert torch.allclose(a[0, :4], x[0].mean(0), atol=1e-6)
