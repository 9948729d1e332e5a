from tests.tools.wiki_server import local_wiki, wiki_pages

__all__ = ["local_wiki", "wiki_pages"]
