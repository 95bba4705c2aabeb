Feature: Downstream closes early
  When a consumer stops reading and goes away, the pump gives back the
  number of bytes it delivered, the producer can still finish its work, and
  nothing is raised. Both backends behave the same way.

  Scenario Outline: The consumer is gone before anything is sent
    Given the <backend> backend is selected
    And a producer with 4 MiB of data to send
    And a consumer that has already gone away
    When the producer's output is pumped to the consumer
    Then no error is raised
    And the pump reports 0 bytes written
    And the producer is not left blocked

    Examples:
      | backend     |
      | pure-Python |
      | Rust        |

  Scenario Outline: The consumer reads a little, then goes away
    Given the <backend> backend is selected
    And a producer with 4 MiB of data to send
    And a consumer that reads a little and then goes away
    When the producer's output is pumped to the consumer
    Then no error is raised
    And the pump reports at least what the consumer read, but not the whole payload
    And the producer is not left blocked

    Examples:
      | backend     |
      | pure-Python |
      | Rust        |

  Scenario Outline: A producer that never stops, with a limit on the clean-up
    Given the <backend> backend is selected
    And a producer that never stops writing
    And a consumer that has already gone away
    When the producer's output is pumped to the consumer, draining for at most 0.05 seconds
    Then no error is raised
    And the pump reports 0 bytes written
    And the producer stops once its output is closed

    Examples:
      | backend     |
      | pure-Python |
      | Rust        |
