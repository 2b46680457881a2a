"""What the door can tell: who took the result (their relation to the citizen), why a
delivery failed (the reason codes a courier picks, with the words the citizen is sent), and the
proof a hand-over to a person must carry, whichever way it is recorded (a scan from a phone,
the door page, the counter)."""

from postal.core.text import clean

MAX_RECIPIENT = 200
HANDED_OVER = ("delivered", "collected")  # events that put the result in a person's hands

RELATIONS = {
    "self": "Chính chủ", "spouse": "Vợ/chồng", "parent": "Cha/mẹ", "child": "Con",
    "relative": "Người thân khác", "neighbour": "Hàng xóm", "colleague": "Đồng nghiệp",
    "guard": "Bảo vệ/lễ tân", "authorised": "Người được uỷ quyền",
}
REASONS = {
    "not_home": "Không có người nhận", "unreachable": "Không liên lạc được qua điện thoại",
    "wrong_address": "Sai hoặc không tìm thấy địa chỉ", "moved": "Người nhận đã chuyển đi",
    "refused": "Người nhận từ chối nhận", "no_id": "Không xuất trình được giấy tờ tùy thân",
    "no_payment": "Không thanh toán tiền thu hộ", "other": "Lý do khác",
}


def recipient_problem(name: str | None) -> str | None:
    """Why a hand-over lacks its proof, or None: it names who took the result (1–200
    characters). The door page asks more (relation, a photo or a signature) on top of this."""
    name = clean(name)
    if not name:
        return "cần họ tên người nhận kết quả"
    if len(name) > MAX_RECIPIENT:
        return f"họ tên người nhận tối đa {MAX_RECIPIENT} ký tự"
    return None
