#!/usr/bin/env python3
"""moto_server with one emulator difference removed, for the tests that run Terraform against it.

After DetachNetworkInterface, AWS still answers DescribeNetworkInterfaces filtered by
`attachment.attachment-id` with that attachment in status `detached` for a while; moto 5.2.1
forgets the attachment at once. The AWS provider waits for `detached` and, finding nothing, polls
until its not-found limit: about 2.5 minutes per dual-mode NAT destroyed. Here an interface
remembers its last attachment as `detached` until it is attached again, and shows it to that
filter only. Everything else is moto as installed; the arguments are moto_server's.
"""
import sys

from moto.ec2.models.elastic_network_interfaces import NetworkInterface
from moto.ec2.models.instances import Instance
from moto.ec2.responses.elastic_network_interfaces import ElasticNetworkInterfaces
from moto.core.responses import ActionResult
from moto.server import main

ATTACHMENT_FILTER = "attachment.attachment-id"


class DetachedAttachment:
    def __init__(self, eni):
        self.attachment_id = eni.attachment_id
        self.device_index = eni.device_index
        self.delete_on_termination = eni.delete_on_termination
        self.network_card_index = 0
        self.status = "detached"


class WithDetachedAttachment:
    """An interface as the filtered answer shows it: its last attachment, detached."""

    def __init__(self, eni):
        self._eni = eni

    def __getattr__(self, name):
        return getattr(self._eni, name)

    @property
    def attachment(self):
        return self._eni.detached_attachment


original_detach_eni = Instance.detach_eni
original_attach_eni = Instance.attach_eni
original_filter_value = NetworkInterface.get_filter_value


def detach_eni(self, eni):
    detached = DetachedAttachment(eni)
    original_detach_eni(self, eni)
    eni.detached_attachment = detached


def attach_eni(self, eni, *args, **kwargs):
    eni.detached_attachment = None
    return original_attach_eni(self, eni, *args, **kwargs)


def get_filter_value(self, filter_name):
    detached = getattr(self, "detached_attachment", None)
    if filter_name == ATTACHMENT_FILTER and self.attachment_id is None and detached is not None:
        return detached.attachment_id
    return original_filter_value(self, filter_name)


def describe_network_interfaces(self):
    filters = self._filters_from_querystring()
    self.error_on_dryrun()
    enis = self.ec2_backend.get_all_network_interfaces(self._get_param("NetworkInterfaceIds", []), filters)
    if ATTACHMENT_FILTER in filters:
        enis = [WithDetachedAttachment(eni) if eni.attachment_id is None else eni for eni in enis]
    return ActionResult({"NetworkInterfaces": enis})


Instance.detach_eni = detach_eni
Instance.attach_eni = attach_eni
NetworkInterface.get_filter_value = get_filter_value
ElasticNetworkInterfaces.describe_network_interfaces = describe_network_interfaces

if __name__ == "__main__":
    sys.exit(main())
