// Rule sets used by the example instances.

RuleSet: LocalId(system, value)
* identifier[+].system = "{system}"
* identifier[=].value = "{value}"

RuleSet: Participant(function, member, start)
* participant[+].role = CMTeamFunction#{function}
* participant[=].member = Reference({member})
* participant[=].period.start = "{start}"

// An action of the plan; the case file's action localId is kept as the element id.
RuleSet: Action(localId, pillar, description, status, performer, scheduled, goal)
* activity[+].id = "{localId}"
* activity[=].detail.extension[pillar].valueCodeableConcept = CMCarePillar#{pillar}
* activity[=].detail.status = #{status}
* activity[=].detail.description = "{description}"
* activity[=].detail.performer = Reference({performer})
* activity[=].detail.scheduledPeriod.start = "{scheduled}"
* activity[=].detail.goal = Reference({goal})

RuleSet: GoalAcceptedByPerson(patient)
* extension[acceptance].extension[individual].valueReference = Reference({patient})
* extension[acceptance].extension[status].valueCode = #agree

RuleSet: ReviewDomain(domain)
* item[+].linkId = "domain"
* item[=].item[+].linkId = "domain.code"
* item[=].item[=].answer.valueCoding = CMLifeDomain#{domain}

RuleSet: ReviewAnswer(linkId, text)
* item[=].item[+].linkId = "{linkId}"
* item[=].item[=].answer.valueString = "{text}"

RuleSet: ConsentActor(organization)
* provision.actor[+].role = $v3-ParticipationType#IRCP "information recipient"
* provision.actor[=].reference = Reference({organization})
