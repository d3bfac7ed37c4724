from django.http import HttpRequest, HttpResponse


def review_form(request: HttpRequest, token: str) -> HttpResponse:
    return HttpResponse("review form")
