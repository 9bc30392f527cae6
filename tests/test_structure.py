"""The shape of the code: rules that keep the blueprints apart."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "zaloan"
BLUEPRINTS = sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py") if (p.parent / "views.py").exists())


def imports_of(path: Path) -> set[str]:
    """Return the package-relative modules `path` imports from (`..informant.views` -> `informant.views`)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 2 and node.module:
            found.add(node.module)
        if isinstance(node, ast.ImportFrom) and node.level == 2 and not node.module:
            found.update(alias.name for alias in node.names)
    return found


def test_no_blueprint_imports_another_blueprint():
    """Helpers two blueprints share live in a module of their own (zaloan/sending.py, zaloan/formkit.py), not in
    one blueprint's views or forms."""
    assert len(BLUEPRINTS) >= 8
    crossings = []
    for name in BLUEPRINTS:
        for path in (PACKAGE / name).glob("*.py"):
            for module in imports_of(path):
                other = module.split(".")[0]
                if other in BLUEPRINTS and other != name:
                    crossings.append(f"{path.relative_to(PACKAGE)} imports {module}")
    assert crossings == []


def test_pages_ask_named_questions_never_the_viewers_role():
    """A template asks `current_user is can_reassign_handler(person)`, not `current_user.role == 'commander'`:
    who may do what is decided in zaloan/permissions.py (and each role's pages in zaloan/roles.py) alone."""
    found = [str(p.relative_to(PACKAGE)) for p in (PACKAGE / "templates").rglob("*.html")
             if "current_user.role" in p.read_text(encoding="utf-8")]
    assert found == []


def test_every_role_has_a_home_and_a_navigation():
    from zaloan.models import Role
    from zaloan.roles import REGISTRY

    assert set(REGISTRY) == set(Role.ALL)
    assert all(info.home and info.nav for info in REGISTRY.values())
