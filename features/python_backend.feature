Feature: Pump a payload through the pure-Python backend
  A user who has no native engine, or who chooses the pure-Python backend,
  still gets every byte from a producer to its consumer, with nothing to
  install beyond cuprum itself.

  Background:
    Given the pure-Python backend is selected

  Scenario: A payload reaches the consumer intact
    Given a producer with 3 MiB of data to send
    When the producer's output is pumped to the consumer
    Then no error is raised
    And the consumer receives exactly what the producer sent
    And the pump reports 3 MiB written

  Scenario: A producer with nothing to say
    Given a producer with 0 bytes of data to send
    When the producer's output is pumped to the consumer
    Then no error is raised
    And the consumer receives exactly what the producer sent
    And the pump reports 0 bytes written

  Scenario: The pump leaves the pipes as it found them
    Given a producer with 100 KiB of data to send
    When the producer's output is pumped to the consumer
    Then no error is raised
    And the ends the pump used are still open and still in blocking mode

  Scenario: Several producers at once
    Given 20 producers, each with its own data to send
    When their outputs are pumped to their consumers together
    Then every consumer receives exactly what its producer sent
