"""The demo commune: Xã Tân Thành with six villages, watch points and one account per role."""
from __future__ import annotations

from datetime import time

from sqlalchemy import select

from . import accounts
from .communes import create_commune, get_or_create_unit
from .extensions import db
from .models import RulesAck, CommuneSettings, InformantPost, Role, TimeWindow, Unit, UnitKind, User, VerifierTitle, WatchPoint, WatchPointKind
from .phones import normalize_phone

PASSWORD = "demo-1234"

VILLAGES = (
    "Thôn Đồng Bé",
    "Thôn Tân Lập",
    "Thôn Hạ Lý",
    "Thôn Trung Tâm",
    "Thôn Đồng Tiến",
    "Thôn Làng Lỏng",
)


def demo_loaded() -> bool:
    return db.session.scalar(select(User.id).where(User.phone == "+84900000001")) is not None


def load_demo() -> Unit:
    """Create the demo commune and its accounts (all with password demo-1234)."""
    commune = create_commune("Xã Tân Thành", "Tỉnh Lạng Sơn")
    # The commune police's on-duty number, shown beside 113 to anyone who sends an emergency tip.
    db.session.add(CommuneSettings(commune_id=commune.id, duty_phone="0900 000 113"))
    villages = [get_or_create_unit(name, UnitKind.VILLAGE, commune) for name in VILLAGES]

    def person(phone, name, role, **kw):
        user = accounts.create_user(by=None, phone=phone, full_name=name, role=role, commune=commune, **kw)
        user.set_password(PASSWORD)
        return user

    person("0900000001", "Lương Văn Hùng", Role.COMMANDER, position="Trưởng Công an xã")
    officer_a = person("0900000002", "Phạm Minh Đức", Role.OFFICER, position="Công an viên chính quy")
    officer_b = person("0900000003", "Vi Thị Hoa", Role.OFFICER, position="Công an viên chính quy")
    for v in villages[:3]:
        v.officer_id = officer_a.id
    for v in villages[3:]:
        v.officer_id = officer_b.id

    market = WatchPoint(village=villages[0], name="Chợ Tân Thành", kind=WatchPointKind.MARKET,
                        note="Chợ phiên sáng, đông người")
    karaoke = WatchPoint(village=villages[1], name="Phố karaoke Tân Lập", kind=WatchPointKind.KARAOKE,
                         note="Các quán karaoke mở khuya")
    crossroads = WatchPoint(village=villages[3], name="Ngã tư Trung Tâm", kind=WatchPointKind.CROSSROADS,
                            note="Ngã tư quốc lộ, nhiều xe qua lại")
    eatery = WatchPoint(village=villages[4], name="Quán ăn đầu cầu Đồng Tiến", kind=WatchPointKind.EATERY)
    db.session.add_all([market, karaoke, crossroads, eatery])
    market.windows = [TimeWindow(starts=time(5, 0), ends=time(9, 0), label="Chợ sáng")]
    karaoke.windows = [TimeWindow(starts=time(20, 0), ends=time(2, 0), label="Buổi tối, đêm khuya")]
    crossroads.windows = [
        TimeWindow(starts=time(6, 30), ends=time(8, 0), label="Giờ đi làm"),
        TimeWindow(starts=time(17, 0), ends=time(19, 0), label="Giờ tan tầm"),
    ]
    eatery.windows = [TimeWindow(starts=time(18, 0), ends=time(22, 0), label="Buổi tối")]
    db.session.flush()

    # Two informants at one watch point, each with their own separate channel.
    an = person("0900000010", "Nguyễn Văn An", Role.INFORMANT, handler=officer_a)
    binh = person("0900000011", "Trần Thị Bình", Role.INFORMANT, handler=officer_a)
    for informant in (an.informant, binh.informant):
        db.session.add(InformantPost(informant=informant, watch_point=market, time_window=market.windows[0]))

    person("0900000020", "Hoàng Văn Cường", Role.VERIFIER, village=villages[0], title=VerifierTitle.VILLAGE_HEAD)
    person("0900000021", "Đinh Văn Dũng", Role.VERIFIER, village=villages[3], title=VerifierTitle.PART_TIME_POLICE)
    person("0900000030", "Ban Chỉ đạo 138 xã", Role.OBSERVER)
    # The province administrator (Công an tỉnh): belongs to the province, sets up communes, sees no tip.
    # Its rows go to the province's own audit chain; the demo adds it without one, so the demo's log
    # keeps the commune's chain and the deployment's only (`flask create-province-admin` audits it).
    admin = User(phone=normalize_phone("0900000040"), full_name="Nông Thị Lan", role=Role.PROVINCE_ADMIN,
                 commune_id=commune.parent_id, position="Công an tỉnh (PV05)")
    admin.set_password(PASSWORD)
    db.session.add(admin)
    db.session.flush()

    from . import demo_tips  # the sample tips, in every state

    demo_tips.load(commune)
    load_rules(commune)
    return commune


def load_rules(commune: Unit) -> None:
    """Give the demo commune its first operating rules, already agreed to by its members (a commune in use)."""
    from . import rules
    from .demo_rules import RULES
    from .permissions import MEMBER_ROLES

    commander = db.session.scalar(select(User).where(User.commune_id == commune.id, User.role == Role.COMMANDER))
    version, _created = rules.publish(commune.id, by=commander, body=RULES, note="Bản đầu tiên, theo Kế hoạch năm 2023.")
    members = db.session.scalars(select(User).where(User.commune_id == commune.id, User.role.in_(MEMBER_ROLES)))
    # Agreed to before the app kept the record: no audit row of their own.
    db.session.add_all(RulesAck(version_id=version.id, user_id=m.id, acked_at=version.created_at) for m in members)
    db.session.flush()
