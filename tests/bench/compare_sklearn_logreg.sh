#!/bin/sh
# compare_sklearn_logreg.sh - the softmax reference probe against scikit-learn's
# LogisticRegression with the same L2 strength, on the same split and the same
# encoded features (issue 3: our test accuracy within one point of sklearn's).
#
#   sh tests/bench/compare_sklearn_logreg.sh [MLAUDIT_BIN]
#
# For each of ../shared/datasets/{credit_data,spam,LetterRecognition}.csv:
#  1. python splits it (LetterRecognition: first 16000 rows train, last 4000 test;
#     the others: a stratified 75/25 split, seed 1) and encodes it the way the
#     probes stage does (features.h: mean imputation plus a missing indicator,
#     one-hot levels, standardised with train statistics), writing train.csv and
#     test.csv, so both sides see the same matrix;
#  2. mlaudit audits them in data mode (--probes thorough --backend cpu) and
#     the softmax probe's test accuracy is read from probes/probes.json;
#  3. sklearn fits LogisticRegression(C = 1 / (l2 * n)) on the rows the softmax
#     probe trained on (its objective is the mean cross-entropy plus l2/2 |w|^2
#     with l2 = 1e-4 over the 90% of train left after the validation share), and
#     scores the same test rows.
# Prints one line per dataset and the difference; needs /usr/bin/python3 with
# pandas and scikit-learn. Not part of the test suite.
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$here/build/release/mlaudit}
data=${MLAUDIT_DATASETS:-$here/../shared/datasets}
work=$(mktemp -d /tmp/mla-sklearn-XXXXXX)
trap 'rm -rf "$work"' EXIT

[ -x "$bin" ] || { echo "no mlaudit binary at $bin (run make)" >&2; exit 2; }

/usr/bin/python3 - "$bin" "$data" "$work" <<'EOF'
import json, os, subprocess, sys
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

mlaudit, data, work = sys.argv[1:4]
L2, VAL_SHARE = 1e-4, 0.10          # probes_stage.c: L2, VAL_SHARE
MAX_LEVELS, MIN_SHARE = 30, 0.01    # features.h

def encode(train, test, label):
    """features.h's encoding, fitted on train."""
    cols_tr, cols_te = [], []
    for c in train.columns:
        if c == label:
            continue
        a, b = train[c], test[c]
        if pd.api.types.is_numeric_dtype(a):
            mean = a.mean()
            sd = a.std(ddof=0)
            sd = sd if sd > 0 else 1.0
            cols_tr.append(((a.fillna(mean) - mean) / sd).rename(c))
            cols_te.append(((b.fillna(mean) - mean) / sd).rename(c))
            if a.isna().any():
                cols_tr.append(a.isna().astype(float).rename(c + " (missing)"))
                cols_te.append(b.isna().astype(float).rename(c + " (missing)"))
        else:
            counts = a.value_counts()
            keep = [v for v, n in counts.items() if n >= MIN_SHARE * len(a)][:MAX_LEVELS]
            for v in keep:
                cols_tr.append((a == v).astype(float).rename(f"{c}={v}"))
                cols_te.append((b == v).astype(float).rename(f"{c}={v}"))
            if len(keep) < len(counts):
                cols_tr.append((a.notna() & ~a.isin(keep)).astype(float).rename(f"{c}=(other)"))
                cols_te.append((b.notna() & ~b.isin(keep)).astype(float).rename(f"{c}=(other)"))
            if a.isna().any():
                cols_tr.append(a.isna().astype(float).rename(c + " (missing)"))
                cols_te.append(b.isna().astype(float).rename(c + " (missing)"))
    xtr = pd.concat(cols_tr, axis=1)
    xte = pd.concat(cols_te, axis=1)
    # the standardised matrix goes to mlaudit as numbers; it standardises again,
    # which leaves it unchanged up to rounding
    xtr.columns = xte.columns = [f"f{i}" for i in range(xtr.shape[1])]
    return xtr, xte

sets = [("credit_data.csv", "Status"), ("spam.csv", "type"), ("LetterRecognition.csv", "lettr")]
for name, label in sets:
    df = pd.read_csv(os.path.join(data, name), keep_default_na=False, na_values=[""])
    if name.startswith("Letter"):
        tr, te = df.iloc[:16000].reset_index(drop=True), df.iloc[16000:].reset_index(drop=True)
    else:
        tr, te = train_test_split(df, test_size=0.25, stratify=df[label], random_state=1)
        tr, te = tr.reset_index(drop=True), te.reset_index(drop=True)
    xtr, xte = encode(tr, te, label)
    d = os.path.join(work, name.split(".")[0])
    os.makedirs(d, exist_ok=True)
    # labels as "c_<value>" so no label is read as a number or a boolean
    ytr, yte = "c_" + tr[label].astype(str), "c_" + te[label].astype(str)
    xtr.assign(label=ytr).to_csv(os.path.join(d, "train.csv"), index=False, float_format="%.9g")
    xte.assign(label=yte).to_csv(os.path.join(d, "test.csv"), index=False, float_format="%.9g")
    out = os.path.join(d, "out")
    st = subprocess.run([mlaudit, "run", "--train", os.path.join(d, "train.csv"), "--test", os.path.join(d, "test.csv"),
                         "--label", "label", "--out", out, "--probes", "thorough", "--backend", "cpu", "--quiet"])
    if st.returncode not in (0, 1):
        sys.exit(f"{name}: mlaudit exited {st.returncode}")
    pj = json.load(open(os.path.join(out, "latest", "probes", "probes.json")))
    soft = [p for p in pj["probes"] if p["name"] == "softmax"][0]
    ours = soft["metrics"]["test"]["accuracy"]["value"]
    # sklearn on the rows the softmax trained on (all but the validation share)
    n_fit = int(round(len(xtr) * (1 - VAL_SHARE)))
    clf = LogisticRegression(C=1.0 / (L2 * n_fit), max_iter=5000)
    clf.fit(xtr.values, ytr.values)
    theirs = float((clf.predict(xte.values) == yte.values).mean())
    print(f"{name:24s} train {len(xtr):6d} test {len(xte):5d} features {xtr.shape[1]:3d}  "
          f"softmax probe {ours:.4f} ({soft['steps']} steps{', stopped early' if soft['stopped_early'] else ''})  "
          f"sklearn {theirs:.4f}  difference {100 * (ours - theirs):+.2f} points", flush=True)
EOF
