from rapport.portal.tests.conftest import member_client, sent_codes

__all__ = ["member_client", "sent_codes"]
