"""The gateway's gRPC stubs to the domain services in the registry, over channels with deadlines and retries."""

from __future__ import annotations

from grpc_health.v1 import health_pb2_grpc

from gateway.config import GatewaySettings
from leadflood.icp.v1 import icp_pb2_grpc
from leadflood.inbox.v1 import delivery_pb2_grpc, inbox_pb2_grpc
from leadflood.inbox.v1 import stats_pb2_grpc as inbox_stats_grpc
from leadflood.jobs.v1 import jobs_pb2_grpc
from leadflood.leads.v1 import leads_pb2_grpc
from leadflood.leads.v1 import stats_pb2_grpc as lead_stats_grpc
from leadflood.providers.v1 import providers_pb2_grpc
from leadflood.runs.v1 import runs_pb2_grpc
from leadflood.sequences.v1 import sequences_pb2_grpc
from leadflood_platform import grpc_client, registry


class Services:
    """A channel per registered service; its jobs, health and providers stubs by name; each domain's own stub."""

    def __init__(self, settings: GatewaySettings) -> None:
        traced = bool(settings.otel_exporter_otlp_endpoint)
        self.channels = {
            service.name: grpc_client.channel(
                settings.grpc_target(service.name), timeout_s=settings.grpc_call_timeout_s, traced=traced
            )
            for service in registry.services()
        }
        self.jobs = {name: jobs_pb2_grpc.JobsServiceStub(ch) for name, ch in self.channels.items()}
        self.health = {name: health_pb2_grpc.HealthStub(ch) for name, ch in self.channels.items()}
        self.providers = {name: providers_pb2_grpc.ProvidersServiceStub(ch) for name, ch in self.channels.items()}
        # The domains the gateway's routes serve (routes/<domain>.py).
        self.icp = icp_pb2_grpc.IcpServiceStub(self.channels["icp"])
        self.leads = leads_pb2_grpc.LeadsServiceStub(self.channels["leads"])
        self.delivery = delivery_pb2_grpc.DeliveryServiceStub(self.channels["inbox"])
        self.inbox = inbox_pb2_grpc.InboxServiceStub(self.channels["inbox"])
        self.inbox_stats = inbox_stats_grpc.InboxStatsServiceStub(self.channels["inbox"])
        self.lead_stats = lead_stats_grpc.LeadStatsServiceStub(self.channels["leads"])
        self.sequences = sequences_pb2_grpc.SequencesServiceStub(self.channels["sequences"])
        self.runs = runs_pb2_grpc.RunsServiceStub(self.channels["runs"])

    async def close(self) -> None:
        for channel in self.channels.values():
            await channel.close()
