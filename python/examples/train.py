"""A training script marked for greenbench, in the shape of DeepLearningExamples' main.py.

The model is a logistic regression on synthetic data in plain Python, so the script runs
anywhere; in a real script the same marks surround the framework's set-up, the training loop and
the evaluation. Run it under greenbench:

    greenbench measure -- python3 python/examples/train.py --epochs 3
"""
import argparse
import math
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import greenbench_markers as gb  # noqa: E402  (pip install ./python makes the path line moot)


def parse_args():
    parser = argparse.ArgumentParser(description="logistic regression, marked for greenbench")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--samples", type=int, default=4096)
    parser.add_argument("--features", type=int, default=16)
    parser.add_argument("--lr", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args()


def make_data(rng, truth, samples):
    data = []
    for _ in range(samples):
        x = [rng.gauss(0, 1) for _ in truth]
        z = sum(w * v for w, v in zip(truth, x))
        data.append((x, 1.0 if rng.random() < 1 / (1 + math.exp(-z)) else 0.0))
    return data


def predict(weights, x):
    z = sum(w * v for w, v in zip(weights, x))
    return 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))


def train_step(weights, batch, lr):
    grad = [0.0] * len(weights)
    loss = 0.0
    for x, y in batch:
        p = predict(weights, x)
        loss -= y * math.log(max(p, 1e-12)) + (1 - y) * math.log(max(1 - p, 1e-12))
        for i, v in enumerate(x):
            grad[i] += (p - y) * v
    for i in range(len(weights)):
        weights[i] -= lr * grad[i] / len(batch)
    return loss / len(batch)


@gb.phase("eval")
def evaluate(weights, data):
    correct = sum(1 for x, y in data if (predict(weights, x) >= 0.5) == (y == 1.0))
    accuracy = correct / len(data)
    gb.metric("accuracy_top1", accuracy)
    return accuracy


def main():
    args = parse_args()
    gb.info("framework", "python " + sys.version.split()[0])
    with gb.phase("setup"):
        rng = random.Random(args.seed)
        truth = [rng.gauss(0, 1) for _ in range(args.features)]
        train_data = make_data(rng, truth, args.samples)
        test_data = make_data(rng, truth, args.samples // 4)
        weights = [0.0] * args.features
    samples = 0
    start = time.monotonic()
    with gb.phase("train"):
        for epoch in range(1, args.epochs + 1):
            rng.shuffle(train_data)
            losses = [train_step(weights, train_data[i:i + args.batch_size], args.lr)
                      for i in range(0, len(train_data), args.batch_size)]
            samples += len(train_data)
            loss = sum(losses) / len(losses)
            print("epoch %d loss %.4f" % (epoch, loss), flush=True)
        gb.metric("loss", loss)
        gb.metric("samples_per_s", samples / (time.monotonic() - start), "samples/s")
    accuracy = evaluate(weights, test_data)
    print("accuracy_top1 %.4f" % accuracy)


if __name__ == "__main__":
    main()
