"""Synthetic citizens of Hà Tĩnh: names, citizen ID numbers, mobile numbers and addresses."""

from __future__ import annotations

import random
from itertools import accumulate

# Family names weighted roughly as in north-central Vietnam (Nguyễn, Trần, Lê lead everywhere;
# Phan, Võ, Hồ, Đặng, Thái are more common in Nghệ An – Hà Tĩnh than nationally).
FAMILY = (("Nguyễn", 30), ("Trần", 11), ("Lê", 10), ("Phan", 7), ("Võ", 6), ("Hồ", 5),
          ("Đặng", 4), ("Bùi", 3), ("Hoàng", 3), ("Phạm", 3), ("Đinh", 3), ("Dương", 2),
          ("Thái", 2), ("Đào", 2), ("Ngô", 2), ("Đỗ", 2), ("Trương", 1), ("Lưu", 1))
MIDDLE_MALE = ("Văn", "Văn", "Văn", "Đức", "Hữu", "Minh", "Quang", "Xuân", "Đình", "Công",
               "Thanh", "Sỹ", "Ngọc", "Trọng")
MIDDLE_FEMALE = ("Thị", "Thị", "Thị", "Thị", "Ngọc", "Thu", "Thanh", "Hồng", "Mai", "Khánh",
                 "Phương", "Kim")
GIVEN_MALE = ("Anh", "Bình", "Cường", "Dũng", "Đạt", "Đông", "Hải", "Hiếu", "Hoàng", "Hùng",
              "Huy", "Khánh", "Khoa", "Long", "Lực", "Mạnh", "Nam", "Nghĩa", "Phong", "Phúc",
              "Quân", "Sơn", "Tài", "Thắng", "Thành", "Tiến", "Toàn", "Trung", "Tuấn", "Việt",
              "Vinh", "Vũ")
GIVEN_FEMALE = ("Anh", "Chi", "Dung", "Giang", "Hà", "Hằng", "Hạnh", "Hiền", "Hoa", "Hương",
                "Huyền", "Lan", "Liên", "Linh", "Loan", "Mai", "Nga", "Ngân", "Ngọc", "Nhung",
                "Oanh", "Phương", "Quỳnh", "Tâm", "Thảo", "Thủy", "Trang", "Vân", "Yến")
# Streets of the provincial capital and the larger wards.
STREETS = ("Trần Phú", "Phan Đình Phùng", "Nguyễn Du", "Hà Huy Tập", "Lê Duẩn", "Xuân Diệu",
           "Nguyễn Công Trứ", "Hàm Nghi", "Hải Thượng Lãn Ông", "Lý Tự Trọng", "Nguyễn Huy Tự",
           "Mai Thúc Loan", "26 tháng 3", "Nguyễn Biểu", "Võ Liêm Sơn", "Quang Trung",
           "Lê Hồng Phong", "Nguyễn Văn Trỗi", "Đặng Dung", "Trần Thị Hường")
HAMLETS = ("Đông", "Tây", "Nam", "Bắc", "Trung", "Thượng", "Hạ", "Tân Lộc", "Yên Hòa", "Phú Mỹ",
           "Hòa Bình", "Tiền Phong", "Đông Hà", "Xuân Hải", "Minh Tiến", "Tân Phúc", "Trung Tiến",
           "Kim Sơn", "Bình Minh", "Thanh Sơn")
# Mobile prefixes after the 2018 renumbering (see postal.dossiers.applicants).
MOBILE_PREFIXES = ("032", "033", "034", "035", "036", "037", "038", "039", "086", "096", "097",
                   "098", "081", "082", "083", "084", "085", "088", "091", "094", "070", "076",
                   "077", "078", "079", "089", "090", "093")
_FAMILY_NAMES = tuple(n for n, _ in FAMILY)
_FAMILY_CUM = tuple(accumulate(w for _, w in FAMILY))


def full_name(rng: random.Random) -> tuple[str, bool]:
    """A Vietnamese full name and whether the person is female."""
    female = rng.random() < 0.52
    family = rng.choices(_FAMILY_NAMES, cum_weights=_FAMILY_CUM)[0]
    if female:
        return f"{family} {rng.choice(MIDDLE_FEMALE)} {rng.choice(GIVEN_FEMALE)}", True
    return f"{family} {rng.choice(MIDDLE_MALE)} {rng.choice(GIVEN_MALE)}", False


def id_number(rng: random.Random, female: bool, serial: int, *, born_before: int) -> str:
    """A 12-digit citizen ID number: birth province (mostly 042, Hà Tĩnh), century and sex
    digit, year of birth, and six digits that differ for each `serial` below a million."""
    year = rng.randint(1945, born_before - 1)
    century = (year // 100 - 19) * 2 + (1 if female else 0)
    province = "042" if rng.random() < 0.9 else rng.choice(("040", "038", "044", "001", "079"))
    # multiplying by a number coprime with 10**6 permutes the six-digit numbers
    return f"{province}{century}{year % 100:02d}{serial * 479_001 % 1_000_000:06d}"


def mobile(rng: random.Random) -> str:
    return f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10_000_000):07d}"


def street(rng: random.Random, *, ward: bool) -> str:
    """A house number and street in a ward, or a hamlet (thôn) in a rural commune."""
    if ward:
        if rng.random() < 0.7:
            return f"Số {rng.randint(1, 250)} đường {rng.choice(STREETS)}"
        return f"Tổ dân phố {rng.randint(1, 18)}"
    if rng.random() < 0.5:
        return f"Thôn {rng.randint(1, 14)}"
    return f"Thôn {rng.choice(HAMLETS)}"
