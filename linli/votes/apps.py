from django.apps import AppConfig


class VotesConfig(AppConfig):
    name = "linli.votes"
    label = "votes"
    verbose_name = "Votes"
