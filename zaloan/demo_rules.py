"""The first version of the demo commune's operating rules, drawn from the 2023 plan in plain Vietnamese."""

RULES = """# Mục đích
Mô hình "Zalo an ninh" giúp Nhân dân cùng Công an xã giữ gìn an ninh, trật tự ở thôn xóm. Mọi tin báo được nhận và xử lý kịp thời, khách quan, đầy đủ và chính xác.

# Ai tham gia
- Người cung cấp tin: người tốt, thường có mặt ở chợ, quán ăn, quán karaoke, ngã ba, ngã tư vào những khung giờ hay xảy ra vụ việc.
- Người xác minh: công an viên bán chuyên trách, trưởng thôn, trưởng ban công tác mặt trận của từng thôn.
- Cán bộ Công an xã phụ trách địa bàn: nhận tin, giao xác minh, ghi kết quả xử lý.
- Trưởng Công an xã: phân công địa bàn, theo dõi chung, bàn giao khi cán bộ thay đổi.

# Giữ bí mật người báo tin
- Mỗi người cung cấp tin có kênh riêng với cán bộ phụ trách. Hai người ở cùng một điểm cũng có kênh riêng, để tránh trùng tin và tránh lộ người báo tin.
- Không kể cho ai biết mình đã báo tin gì. Không chụp, không chuyển tiếp tin báo cho người khác.
- Người xác minh chỉ nhận việc cán bộ giao, không hỏi ai là người báo tin.

# Khi báo tin
- Báo ngay khi thấy việc có dấu hiệu vi phạm pháp luật, hoặc người lạ có biểu hiện đáng ngờ.
- Nói rõ việc gì, ở đâu, lúc nào; gửi ảnh nếu chụp được mà không nguy hiểm cho mình.
- Việc nguy hiểm đang xảy ra: gọi ngay 113 hoặc số trực của Công an xã, rồi mới gửi tin.
- Chỉ báo điều mình thấy, mình biết; không báo sai sự thật.

# Khi xác minh
- Nhận việc, đến tận nơi xem xét, báo lại kết quả đúng thời hạn.
- Không tự ý xử lý khi chưa được giao; gặp việc nguy hiểm thì báo ngay cho cán bộ phụ trách.

# Khi cán bộ thay đổi
Kênh tin và tin báo thuộc về Công an xã, không thuộc về một người. Khi cán bộ chuyển công tác hoặc hỏng điện thoại, người thay thế được giao lại toàn bộ, không mất tin nào.

# Phong trào "Tự phòng, tự quản, tự bảo vệ"
- Tự phòng ngừa tội phạm, tai nạn và các tệ nạn.
- Tự quản về giờ giấc, sinh hoạt, quan hệ, làm ăn, học tập.
- Tự bảo vệ an toàn tính mạng, tài sản của mọi người dân.

# Sơ kết và khen thưởng
Sau một năm, xã sơ kết, rút kinh nghiệm. Tập thể, cá nhân có nhiều đóng góp được biểu dương, khen thưởng kịp thời."""
