from django.urls import URLPattern, path

from build import views

app_name = "build"


def _patterns(kind: str, singular: str, *, executable: bool) -> list[URLPattern]:
    extra = {"kind": kind}
    item = f"{kind}/<uuid:item_id>/"
    patterns = [
        path(f"{kind}/", views.item_list, extra, name=f"{singular}_list"),
        path(f"{kind}/new/", views.item_create, extra, name=f"{singular}_create"),
        path(item, views.item_detail, extra, name=f"{singular}_detail"),
        path(item + "edit/", views.item_edit, extra, name=f"{singular}_edit"),
        path(item + "delete/", views.item_delete, extra, name=f"{singular}_delete"),
        path(item + "deploy/", views.item_deploy, extra, name=f"{singular}_deploy"),
        path(
            item + "versions/<int:number>/", views.version_detail, extra, name=f"{singular}_version"
        ),
    ]
    if executable:
        patterns.append(path(item + "test/", views.item_test, extra, name=f"{singular}_test"))
    return patterns


urlpatterns: list[URLPattern] = [
    *_patterns("connectors", "connector", executable=False),
    *_patterns("agents", "agent", executable=True),
    *_patterns("tools", "tool", executable=True),
    *_patterns("workflows", "workflow", executable=False),
]
