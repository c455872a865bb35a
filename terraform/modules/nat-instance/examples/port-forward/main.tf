# Inbound port forwarding: public port 9999 on the NAT reaches SSH (22) on a private host, and only
# from one admin address. With preserve_client_ip = false the host sees the NAT's private address as
# the source, so its security group admits SSH from the NAT's security group alone.

terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0, < 7.0"
    }
  }
}

provider "aws" {
  region = var.region
}

variable "region" {
  type    = string
  default = "eu-central-1"
}

variable "admin_cidr" {
  description = "The one address allowed to connect to port 9999 (yours, as a /32)."
  type        = string
  default     = "203.0.113.7/32"
}

variable "key_name" {
  description = "An EC2 key pair for ec2-user on the private host."
  type        = string
  default     = null
}

locals {
  ssh_host_ip = "10.8.1.10"
}

resource "aws_vpc" "main" {
  cidr_block           = "10.8.0.0/16"
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags                 = { Name = "nat-port-forward" }
}

resource "aws_internet_gateway" "main" {
  vpc_id = aws_vpc.main.id
}

resource "aws_subnet" "public" {
  vpc_id                  = aws_vpc.main.id
  cidr_block              = "10.8.0.0/24"
  availability_zone       = "${var.region}a"
  map_public_ip_on_launch = true
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.main.id
  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.main.id
  }
}

resource "aws_route_table_association" "public" {
  subnet_id      = aws_subnet.public.id
  route_table_id = aws_route_table.public.id
}

resource "aws_subnet" "private" {
  vpc_id            = aws_vpc.main.id
  cidr_block        = "10.8.1.0/24"
  availability_zone = "${var.region}a"
}

resource "aws_route_table" "private" {
  vpc_id = aws_vpc.main.id
}

resource "aws_route_table_association" "private" {
  subnet_id      = aws_subnet.private.id
  route_table_id = aws_route_table.private.id
}

module "nat" {
  # From a release: "git::https://github.com/your-github-org/cdktf-nat-instance.git//terraform/modules/nat-instance?ref=v0.1.0"
  source = "../.."

  name               = "nat-port-forward"
  vpc_id             = aws_vpc.main.id
  public_subnet_id   = aws_subnet.public.id
  private_subnet_ids = [aws_subnet.private.id]
  route_table_ids    = [aws_route_table.private.id]

  port_forwards = [{
    public_port        = 9999
    target_ip          = local.ssh_host_ip
    target_port        = 22
    allowed_cidrs      = [var.admin_cidr]
    preserve_client_ip = false
  }]

  depends_on = [aws_route_table_association.public]
}

# The private host: SSH only from the NAT (which forwards port 9999 to it), no public address.
resource "aws_security_group" "ssh_host" {
  name        = "ssh-host"
  description = "SSH from the NAT instance only"
  vpc_id      = aws_vpc.main.id

  ingress {
    description     = "SSH forwarded by the NAT"
    from_port       = 22
    to_port         = 22
    protocol        = "tcp"
    security_groups = [module.nat.security_group_id]
  }

  egress {
    description = "Anywhere, through the NAT"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

data "aws_ssm_parameter" "al2023" {
  name = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
}

resource "aws_instance" "ssh_host" {
  ami                    = data.aws_ssm_parameter.al2023.value
  instance_type          = "t4g.nano"
  subnet_id              = aws_subnet.private.id
  private_ip             = local.ssh_host_ip
  key_name               = var.key_name
  vpc_security_group_ids = [aws_security_group.ssh_host.id]

  metadata_options {
    http_tokens = "required"
  }

  root_block_device {
    encrypted   = true
    volume_type = "gp3"
    volume_size = 8
  }

  tags = { Name = "ssh-host" }
}

output "ssh_command" {
  description = "Run from the admin address."
  value       = "ssh -p 9999 ec2-user@${module.nat.public_ip}"
}
