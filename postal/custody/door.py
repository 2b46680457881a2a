"""What the door can tell: who took the result (their relation to the citizen), and why a
delivery failed (the reason codes a courier picks, with the words the citizen is sent)."""

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
