"""Generated package reservations and coupon uses (benchmark and demo data), vectorised."""

from __future__ import annotations

import numpy as np
import pandas as pd

AGENCIES = 200
_PCTS = np.array(["0", "0.5", "1.6", "2", "3.5", "5", "7", "0.57"], dtype=object)
_OLD_SHARES = np.array(["0", "0.4", "0.5", "1.2"], dtype=object)
_NEW_SHARES = np.array(["0", "10", "30", "50"], dtype=object)


def generate_reservations(
    n: int, *, seed: int = 7, prefix: str = "PKG", bad_every: int = 0
) -> pd.DataFrame:
    """`n` reservations: ~40 % no coupon, 15 % SCO/SCF coupon, 20 % old CP0…, 25 % new CP1….

    With `bad_every` > 0, every that-many-th row gets one defect (a share of 51, an unknown
    serial, a fractional share) so rejection paths run too.
    """
    rng = np.random.default_rng(seed)
    idx = np.arange(n)
    case = rng.choice(4, size=n, p=[0.40, 0.15, 0.20, 0.25])
    sale = rng.integers(300, 5_000, size=n, dtype=np.int64) * 1_000
    variable = rng.choice(np.array([0, 0, 0, 15_000, -5_000], dtype=np.int64), size=n)
    coupon = np.where(case == 0, 0, rng.choice(np.array([10_000, 20_000, 50_000]), size=n))
    serial_no = rng.integers(1, 400, size=n)
    old_serial = np.char.add("CP00", np.char.zfill(serial_no.astype(str), 6))
    new_serial = np.char.add("CP1", np.char.zfill(serial_no.astype(str), 7))
    is_old = (case == 2) | ((case == 1) & (serial_no % 2 == 0))
    serial = np.where(case == 0, "", np.where(is_old, old_serial, new_serial)).astype(object)
    share = np.where(
        case == 0,
        "",
        np.where(
            case == 1,
            "0",
            np.where(is_old, rng.choice(_OLD_SHARES, size=n), rng.choice(_NEW_SHARES, size=n)),
        ),
    ).astype(object)
    channel = np.where(
        case == 1,
        rng.choice(np.array(["SCO", "SCF"], dtype=object), size=n),
        rng.choice(np.array(["PARTNER_PORTAL", "SCO", "PARTNER_PORTAL"], dtype=object), size=n),
    )
    channel = np.where((case >= 2) & (channel == "SCO"), "PARTNER_PORTAL", channel)
    frame = pd.DataFrame(
        {
            "reservation_id": np.char.add(prefix, np.char.zfill(idx.astype(str), 9)).astype(object),
            "agency": np.char.add("AG", np.char.zfill((idx % AGENCIES).astype(str), 4)).astype(
                object
            ),
            "contract_type": rng.choice(np.array(["001", "003", "014"], dtype=object), size=n),
            "channel": channel,
            "transaction_type": rng.choice(np.array(["T", "R", "W"], dtype=object), size=n),
            "sale_price": pd.array(sale, dtype="Int64"),
            "variable_price": pd.array(variable, dtype="Int64"),
            "base_pct": rng.choice(_PCTS[1:], size=n),
            "over_pct": rng.choice(_PCTS[:3], size=n),
            "grade_pct": rng.choice(_PCTS[:2], size=n),
            "coupon_serial": serial,
            "coupon_amount": pd.array(np.where(case == 0, None, coupon), dtype="Int64"),
            "agency_share_pct": share,
            "currency": "KRW",
            "status": "completed",
        }
    )
    if bad_every:
        bad = idx[(idx % bad_every) == bad_every - 1]
        kinds = np.arange(len(bad)) % 3
        frame.loc[bad[kinds == 0], ["coupon_serial", "agency_share_pct"]] = ["CP10000002", "51"]
        frame.loc[bad[kinds == 1], "coupon_serial"] = "CP123"
        frame.loc[bad[kinds == 2], ["coupon_serial", "agency_share_pct"]] = ["CP10000003", "10.5"]
        frame.loc[bad, "coupon_amount"] = 20_000
    return frame
