"""Run by tests/test_driver_numpy1.py under numpy 1.x and 2.x: the deploy package's packing.py + driver.py give
the same bytes (the board's PYNQ image has numpy 1.x)."""
import json, sys
import numpy as np
from packing import accelerator_inputs, pack_frames, unpack_frames, apply_host_steps, pack, unpack
from driver import BNNDriver
rng = np.random.default_rng(0)
imgs = rng.integers(0, 256, (50, 1, 28, 28), dtype=np.uint8)
host = [{"op": "threshold", "name": "t", "elems": 784, "channels": 784, "thresholds": [[128]] * 784, "out_bias": 0}]
x = accelerator_inputs(imgs, host)
out = {}
for bits, per_beat, w in ((1, 784, 64), (8, 14, 64), (7, 5, 128), (8, 1, 64)):
    v = x if bits == 1 else rng.integers(0, 1 << bits, (50, per_beat * 4))
    words = pack_frames(v, bits, per_beat, w)
    back = unpack_frames(words, bits, per_beat, v.shape[1], w)
    assert np.array_equal(back, v)
    out[f"{bits}_{per_beat}_{w}"] = words.tobytes().hex()[:4000]
class Echo:  # identity backend: output = input frames (io in == out)
    def transfer(self, words, n): return words
io = {"in_elems": 784, "in_bits": 1, "in_per_beat": 784, "out_elems": 784, "out_bits": 1, "out_per_beat": 784,
      "dma_word_bits": 64, "mw_last": 784, "label_sign": 1, "host": host}
ints = BNNDriver(io, Echo()).execute(imgs)
assert np.array_equal(ints, x)
json.dump(out, open(sys.argv[1], "w"))
print("ok", np.__version__)
