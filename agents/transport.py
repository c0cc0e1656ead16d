"""The one place Vigil bends Faust: the worker consumer's fetch wait.

faust-streaming 0.15.3 hard-codes ``fetch_max_wait_ms=1500`` for its worker consumer
(``faust/transport/drivers/aiokafka.py``). A broker may hold a fetch that long when a
partition is idle, and Tansu always does (ENVIRONMENT.md): at low load every topic hop
then costs up to 1.5 s, which breaks the latency targets. We subclass the driver and
set the value from ``Settings.fetch_max_wait_ms`` on the consumer before it starts.
``tests/test_transport.py`` checks the value really reaches aiokafka, so an upgrade
that renames the attribute fails loudly instead of silently slowing Vigil down.
"""

from __future__ import annotations

from typing import Any

from faust.transport.drivers import aiokafka as driver


class FetchWaitConsumerThread(driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # aiokafka reads this attribute when it builds its Fetcher in start().
        consumer._fetch_max_wait_ms = int(self.app.vigil_settings.fetch_max_wait_ms)
        return consumer


class FetchWaitConsumer(driver.Consumer):
    def _new_consumer_thread(self) -> FetchWaitConsumerThread:
        return FetchWaitConsumerThread(self, loop=self.loop, beacon=self.beacon)


class VigilTransport(driver.Transport):
    Consumer = FetchWaitConsumer
