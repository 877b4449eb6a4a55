// Policy.g4: Postern's declarative policy language (docs/policy.md).
//
// A policy file declares named sets, per-stage rule lists and routes:
//
//   set internal = cidr { 10.0.0.0/8, $mynetworks }
//   stage rcpt {
//     accept when client.ip in internal
//     reject 554 5.7.1 "Relay access denied" when rcpt.domain not in $relay_domains
//   }
//   route rcpt.domain == "partner.example" -> "smtp:[mx.partner.example]:25"
//
// The parse tree stops at compiler/policy, which turns it into Postern's
// AST. (A rule may not be named `rule`: it collides with generated code.)
grammar Policy;

policyFile : statement* EOF ;

statement
    : includeStatement
    | setDeclaration
    | stageBlock
    | routeStatement
    ;

includeStatement : 'include' STRING ;

setDeclaration : 'set' IDENT '=' setValue ;

setValue
    : setKind '{' (setItem (',' setItem)* ','?)? '}'
    | setKind TABLE_REF
    | TABLE_REF
    ;

setKind : 'cidr' | 'domains' | 'addresses' ;

setItem : STRING | CIDR | PARAM | IDENT | TABLE_REF ;

stageBlock : 'stage' stageName '{' policyRule* '}' ;

stageName : 'connect' | 'helo' | 'mail' | 'rcpt' | 'data' | 'eom' ;

policyRule : action ('when' condition)? ;

action
    : verb='accept'
    | verb='reject' reply?
    | verb='defer' reply?
    | verb='discard'
    | verb='hold' STRING?
    | verb='warn' STRING
    | verb='redirect' STRING
    | verb='add_header' STRING STRING
    | verb='route' STRING
    | verb='policy_service' STRING
    ;

reply : NUMBER STATUS? STRING? | STRING ;

condition
    : 'not' condition                              # notCondition
    | condition 'and' condition                    # andCondition
    | condition 'or' condition                     # orCondition
    | '(' condition ')'                            # groupCondition
    | operand 'not'? 'in' operand                  # membershipCondition
    | operand comparison operand                   # compareCondition
    | operand '~' REGEX                            # matchCondition
    | operand '>' NUMBER 'per' timeUnit            # rateCondition
    | name '(' operand ')'                         # callCondition
    | path                                         # flagCondition
    ;

comparison : '==' | '!=' | '<' | '<=' | '>' | '>=' ;

timeUnit : 'second' | 'minute' | 'hour' | 'day' ;

operand
    : name '(' (operand (',' operand)*)? ')'
    | path
    | STRING
    | NUMBER
    | CIDR
    | PARAM
    | TABLE_REF
    ;

path : name ('.' name)* ;

// Stage names double as field prefixes: rcpt.domain, mail.sender.
name : IDENT | 'connect' | 'helo' | 'mail' | 'rcpt' | 'data' | 'eom' ;

routeStatement : 'route' condition '->' STRING ;

STATUS    : [245] '.' [0-9]+ '.' [0-9]+ ;
CIDR      : [0-9]+ '.' [0-9]+ '.' [0-9]+ '.' [0-9]+ ('/' [0-9]+)? ;
NUMBER    : [0-9]+ ;
PARAM     : '$' [a-zA-Z_] [a-zA-Z0-9_]* ;
TABLE_REF : [a-z]+ ':' ( '/' ~[ \t\r\n,}]+ | '{' ~[}]* '}' ) ;
IDENT     : [a-zA-Z_] [a-zA-Z0-9_]* ;
STRING    : '"' ( '\\' . | ~["\\\r\n] )* '"' ;
REGEX     : '/' ( '\\' . | ~[/\\\r\n] )+ '/' [a-zA-Z]* ;
COMMENT   : '#' ~[\r\n]* -> skip ;
WS        : [ \t\r\n]+ -> skip ;
