"""The picture helpers of train.rollout_pictures: PNG bytes decode to the image, neighbours are exact."""
import struct
import zlib

import numpy as np
import torch

from train.rollout_pictures import grid, nearest, write_png


def read_png(data: bytes) -> np.ndarray:
    """Minimal decoder for what write_png writes (8-bit RGB, filter 0), checking every CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        (crc,) = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF, kind
        chunks[kind] = chunks.get(kind, b"") + body
        pos += 12 + n
    w, h, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour) == (8, 2)
    raw = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(h, 1 + 3 * w)
    assert (raw[:, 0] == 0).all()
    return raw[:, 1:].reshape(h, w, 3)


def test_png_round_trips_the_grid(tmp_path):
    rng = np.random.default_rng(0)
    frames = [[rng.integers(0, 256, (8, 8, 3), dtype=np.uint8) for _ in range(3)] for _ in range(2)]
    img = grid(frames, scale=2, gap=1)
    assert img.shape == (2 * 17 + 1, 3 * 17 + 1, 3)
    np.testing.assert_array_equal(img[1:17, 18:34], frames[0][1].repeat(2, 0).repeat(2, 1))
    write_png(tmp_path / "g.png", img)
    np.testing.assert_array_equal(read_png((tmp_path / "g.png").read_bytes()), img)


def test_nearest_finds_each_bank_entry_under_the_planning_cost():
    g = torch.Generator().manual_seed(0)
    bank_tok, bank_glo = torch.randn(50, 4, 8, generator=g), torch.randn(50, 3, generator=g)
    pick = torch.tensor([3, 17, 42])
    noisy = bank_tok[pick] + 0.01 * torch.randn(3, 4, 8, generator=g)
    assert nearest(noisy, bank_glo[pick], bank_tok, bank_glo).tolist() == pick.tolist()
