# A web host in the public subnet (an ECS or Docker host in real life) becomes the NAT for the
# private subnet: no extra instance. The module brings the route-claim policy (attached to the
# host's role), a security group and the user data; the host claims the private route table's
# 0.0.0.0/0 route at every boot.

terraform {
  required_version = ">= 1.3"
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

resource "aws_vpc" "main" {
  cidr_block           = "10.0.0.0/16"
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags                 = { Name = "web-host-nat" }
}

resource "aws_internet_gateway" "main" {
  vpc_id = aws_vpc.main.id
}

resource "aws_subnet" "public" {
  vpc_id                  = aws_vpc.main.id
  cidr_block              = "10.0.0.0/24"
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
  cidr_block        = "10.0.1.0/24"
  availability_zone = "${var.region}a"
}

# No routes declared: the host claims 0.0.0.0/0 at boot, and Terraform leaves that route alone.
resource "aws_route_table" "private" {
  vpc_id = aws_vpc.main.id
}

resource "aws_route_table_association" "private" {
  subnet_id      = aws_subnet.private.id
  route_table_id = aws_route_table.private.id
}

# The host's role and instance profile (yours already exist: pass your role's name).
resource "aws_iam_role" "web" {
  name = "web-host"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "ec2.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
}

resource "aws_iam_instance_profile" "web" {
  name = "web-host"
  role = aws_iam_role.web.name
}

module "nat" {
  # From a release: "git::https://github.com/your-github-org/cdktf-nat-instance.git//terraform/modules/existing-instance-nat?ref=v0.1.0"
  source = "../.."

  name            = "web-host"
  vpc_id          = aws_vpc.main.id
  private_cidrs   = [aws_subnet.private.cidr_block]
  route_table_ids = [aws_route_table.private.id]
  role_name       = aws_iam_role.web.name
}

data "aws_ssm_parameter" "al2023" {
  name = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
}

resource "aws_instance" "web" {
  ami                         = data.aws_ssm_parameter.al2023.value
  instance_type               = "t4g.small"
  subnet_id                   = aws_subnet.public.id
  iam_instance_profile        = aws_iam_instance_profile.web.name
  vpc_security_group_ids      = [module.nat.security_group_id] # plus your web app's groups
  source_dest_check           = module.nat.instance_requirements.source_dest_check
  associate_public_ip_address = module.nat.instance_requirements.associate_public_ip_address
  user_data_base64            = module.nat.user_data_base64
  user_data_replace_on_change = true

  metadata_options {
    http_tokens = "required"
  }

  root_block_device {
    encrypted   = true
    volume_type = "gp3"
    volume_size = 30
  }

  tags = { Name = "web-host" }

  # The route-claim policy must be attached before the first boot claims the routes.
  depends_on = [module.nat, aws_route_table_association.public]
}

output "web_host_public_ip" {
  description = "The address the private subnet's traffic leaves with."
  value       = aws_instance.web.public_ip
}

output "route_claim_policy_arn" {
  value = module.nat.route_claim_policy_arn
}
